# Emulated time for the host board.
#
# The node never reads wall time for scheduling: it asks its board's clock. On the ESP32 that
# clock is the `time` module (boards/common/clock.py); on the host it is this one, so emulators
# (which produce samples as a function of emulated time) and the node agree on "now", and tests
# can run hours of machine time in seconds. `realtime=True` (make demo) couples it to the
# real monotonic clock.
#
# 32-bit clean like the ESP32's `time` ticks: ticks_us/ticks_ms are kept wrapped (30 bits) beside
# the monotonic microsecond count, and the tick arithmetic never leaves the 31-bit small ints, so
# a driver or the sampler calling them allocates nothing on a 32-bit port (only now_us(), the
# count since boot, becomes a long int after 2**30 us, as boards/common/clock.py's does).
import time

from micropython import const

_MASK = const(0x3FFFFFFF)  # ticks wrap like the ESP32's (ticks_ms/ticks_us are 30-bit on ports)
_HALF = const(0x20000000)


class SimClock:
    def __init__(self, realtime=False, start_us=0):
        self.realtime = realtime
        self._us = start_us  # monotonic microseconds, never wraps (a host int)
        self._tk = start_us & _MASK  # ticks_us
        self._ms = (start_us // 1000) & _MASK  # ticks_ms
        self._rem = start_us % 1000  # microseconds not yet in _ms
        self._t0 = time.ticks_us()
        self.epoch_offset = 0  # seconds added by rtc/ntp to get UTC

    def _advance(self, us):
        self._us += us
        self._tk = _wrap(self._tk, us)
        r = self._rem + us
        self._ms = _wrap(self._ms, r // 1000)
        self._rem = r % 1000

    def _sync(self):
        if self.realtime:
            t = time.ticks_us()
            self._advance(time.ticks_diff(t, self._t0))
            self._t0 = t

    def now_us(self):
        self._sync()
        return self._us

    def ticks_us(self):
        self._sync()
        return self._tk

    def ticks_ms(self):
        self._sync()
        return self._ms

    def ticks_diff(self, a, b):
        d = (a - b) & _MASK
        if d >= _HALF:
            d = d - _MASK - 1
        return d

    def ticks_add(self, a, d):
        return _wrap(a, d)

    def sleep_us(self, us):
        if us <= 0:
            return
        if self.realtime:
            time.sleep_us(us)
            self._sync()
        else:
            self._advance(us)

    def sleep_ms(self, ms):
        self.sleep_us(ms * 1000)

    def advance_us(self, us):
        # Emulated time passing without the node sleeping (e.g. a slow network call).
        if not self.realtime:
            self._advance(us)

    def time(self):
        # UTC seconds (as an int), from the RTC's offset
        return self.epoch_offset + self.now_us() // 1000000


def _wrap(a, d):
    """(a + d) mod 2**30 for a tick a; for -2**29 <= d < 2**30 without leaving small ints."""
    if d > _MASK or d < -_HALF:
        return (a + d) % (_MASK + 1)
    if d >= 0:
        s = a - (_MASK - d) - 1  # a + d - 2**30
        return s + _MASK + 1 if s < 0 else s
    s = a + d
    return s + _MASK + 1 if s < 0 else s
