# The board clock on real hardware: the `time` module, plus a monotonic microsecond counter
# that survives the 2**30 wrap of ticks_us (call now_us at least every 9 minutes: the node
# does so at every window).
import time


class Clock:
    def __init__(self):
        self._last = time.ticks_us()
        self._us = 0

    def now_us(self):
        t = time.ticks_us()
        self._us += time.ticks_diff(t, self._last)
        self._last = t
        return self._us

    ticks_us = staticmethod(time.ticks_us)
    ticks_ms = staticmethod(time.ticks_ms)
    ticks_diff = staticmethod(time.ticks_diff)
    ticks_add = staticmethod(time.ticks_add)
    sleep_us = staticmethod(time.sleep_us)
    sleep_ms = staticmethod(time.sleep_ms)

    def time(self):
        return time.time()
