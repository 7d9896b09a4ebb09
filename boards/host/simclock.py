# Emulated time for the host board.
#
# The node never reads wall time for scheduling: it asks its board's clock. On the ESP32 that
# clock is the `time` module (boards/common/clock.py); on the host it is this one, so emulators
# (which produce samples as a function of emulated time) and the node agree on "now", and tests
# can run hours of machine time in seconds. `realtime=True` (make demo) couples it to the
# real monotonic clock.
import time

_PERIOD = 1 << 30  # ticks wrap like the ESP32's (ticks_ms/ticks_us are 30-bit on ports)


class SimClock:
    def __init__(self, realtime=False, start_us=0):
        self.realtime = realtime
        self._us = start_us  # monotonic microseconds, never wraps (a host int)
        self._t0 = time.ticks_us()
        self.epoch_offset = 0  # seconds added by rtc/ntp to get UTC

    def now_us(self):
        if self.realtime:
            t = time.ticks_us()
            self._us += time.ticks_diff(t, self._t0)
            self._t0 = t
        return self._us

    def ticks_us(self):
        return self.now_us() & (_PERIOD - 1)

    def ticks_ms(self):
        return (self.now_us() // 1000) & (_PERIOD - 1)

    def ticks_diff(self, a, b):
        d = (a - b) & (_PERIOD - 1)
        if d >= _PERIOD // 2:
            d -= _PERIOD
        return d

    def ticks_add(self, a, d):
        return (a + d) & (_PERIOD - 1)

    def sleep_us(self, us):
        if us <= 0:
            return
        if self.realtime:
            time.sleep_us(us)
            self.now_us()
        else:
            self._us += us

    def sleep_ms(self, ms):
        self.sleep_us(ms * 1000)

    def advance_us(self, us):
        # Emulated time passing without the node sleeping (e.g. a slow network call).
        if not self.realtime:
            self._us += us

    def time(self):
        # UTC seconds (as an int), from the RTC's offset
        return self.epoch_offset + self.now_us() // 1000000
