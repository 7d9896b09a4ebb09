# Node log: one line per event on the console, stamped with the board's clock (ms since boot).
clock = None
_NO_HEAP = ": (a line lost: no heap to format it)"


def set_clock(c):
    global clock
    clock = c


def log(tag, *parts):
    """A line that finds no heap to be formatted in is lost (its event is counted elsewhere), not a crash."""
    t = clock.ticks_ms() if clock else 0
    try:
        print("[%d.%03d] %s: %s" % (t // 1000, t % 1000, tag, " ".join(str(p) for p in parts)))
    except MemoryError:
        print(tag, _NO_HEAP)  # (printing existing strings allocates nothing)
