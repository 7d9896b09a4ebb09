# Node log: one line per event on the console, stamped with the board's clock (ms since boot).
clock = None


def set_clock(c):
    global clock
    clock = c


def log(tag, *parts):
    t = clock.ticks_ms() if clock else 0
    print("[%d.%03d] %s: %s" % (t // 1000, t % 1000, tag, " ".join(str(p) for p in parts)))
