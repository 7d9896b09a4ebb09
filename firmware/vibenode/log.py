# Node log: one line per event on the console, the last few kept for the status/event topics.
_recent = []
_MAX = 8
clock = None


def log(tag, *parts):
    t = clock.ticks_ms() if clock else 0
    msg = " ".join(str(p) for p in parts)
    line = "[%d.%03d] %s: %s" % (t // 1000, t % 1000, tag, msg)
    print(line)
    _recent.append(line)
    if len(_recent) > _MAX:
        _recent.pop(0)


def recent():
    return list(_recent)
