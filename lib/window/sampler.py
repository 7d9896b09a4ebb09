# Sampler: drains an accelerometer FIFO at its watermark into a window, without gaps.
#
# Nothing interrupts a window's acquisition: the node computes and reports between windows
# (acquire -> compute -> report), as commercial wireless sensors do, because a chip FIFO holds
# only 8-170 ms of samples. The sampler waits for the FIFO's watermark, on the INT1 line when
# the board wires it and the driver routes the watermark there (INT_WATERMARK), otherwise on a
# schedule derived from the ODR (sleep until the watermark should have been reached). It sleeps
# through the board clock, so on the host everything runs in emulated time.
#
#   s = Sampler(accel, clock, n=2048, irq=board.int_pin())    # irq: a machine.Pin, or None
#   s.acquire()                 # fills s.axes[0..2] (array('h') each); fresh FIFO
#   s.acquire(restart=False)    # the next window, continuing the stream: back-to-back, no gap
#
# Times are microseconds since the stream started (restart=True starts one), accumulated from
# ticks_us differences: small ints at any uptime (the board clock's now_us() passes 2**30 after
# 18 minutes and would then make a heap object at every burst on an ESP32). A stream that runs
# on for more than ~4 minutes is rebased between windows, its origin kept in milliseconds.
# Per window: t_start_us (estimated time of the first sample), t_end_us, rate_measured_mhz
# (samples the chip produced per second during the window, from FIFO levels and clock),
# window_overrun, window_lost (samples lost, estimated from time and count).
# Totals: windows, samples, overruns (windows with an overrun), lost, dropped (windows
# discarded after a bus error), stream_rate_mhz (over the whole current stream).
# Errors come out as sensors.errors.SensorError (an OSError) with a name: no_data when the
# chip stops producing, bus_timeout / absent / fifo_corrupt from the bus; the window is then
# discarded (dropped += 1) and the next acquire() restarts the stream.
import array
import micropython
from micropython import const

from sensors.errors import NO_DATA, SensorError, from_bus
from window import due as _due, mhz as _mhz, scaled as _scaled

_CHUNK = const(32)
_REBASE_US = const(1 << 28)  # stream time beyond this is moved into the millisecond origin


@micropython.viper
def _deinterleave(src, nsamp: int, x, y, z, off: int):
    s = ptr16(src)
    px = ptr16(x)
    py = ptr16(y)
    pz = ptr16(z)
    for i in range(nsamp):
        px[off + i] = s[3 * i]
        py[off + i] = s[3 * i + 1]
        pz[off + i] = s[3 * i + 2]


def _zeros(n):
    """A zeroed array('h') of n items, allocated once (no temporary of the same size)."""
    a = array.array("h", range(n)) if n <= 32767 else array.array("h", bytearray(2 * n))
    for i in range(n):
        a[i] = 0
    return a


def windows(n):
    """The three int16 window buffers, for a node that allocates them early (Sampler(axes=))."""
    return [_zeros(n) for _ in range(3)]


class Sampler:
    def __init__(self, accel, clock, n, irq=None, axes=None):
        self.accel = accel
        self.clock = clock
        self.n = n
        # built without a same-size bytes(...) temporary (it would fragment a small heap), or
        # handed over (windows(n), allocated while the heap was still in one piece)
        if axes is None or len(axes) != 3 or any(len(a) != n for a in axes):
            axes = windows(n)
        self.axes = axes
        self._chunk = _zeros(3 * _CHUNK)
        self.irq = irq if (irq is not None and getattr(accel, "INT_WATERMARK", False)) else None
        self.overruns = 0  # windows in which the FIFO overran (samples lost)
        self.lost = 0  # samples lost to overruns (estimated)
        self.dropped = 0  # windows discarded (bus error mid-window)
        self.windows = 0
        self.samples = 0
        self.empty_polls = 0  # reads that found nothing (a well-timed wait has few)
        self.t_start_us = 0
        self.t_end_us = 0
        self.rate_measured_mhz = 0
        self.stream_rate_mhz = 0
        self.window_overrun = False
        self.window_lost = 0
        self.last_error = None
        self._streaming = False
        self._s_t0 = 0
        self._s_l0 = 0
        self._s_got = 0
        self._prev_end = 0
        self._prev_pending = 0
        self._now = 0  # stream time (us), see _tick
        self._last = 0  # the clock's ticks_us at the last _tick
        self._base_ms = 0  # stream time moved out of _now by rebasing (ms)

    def _tick(self):
        """Stream time in microseconds, from ticks_us differences (call at least every 4 minutes:
        the window loop does at every burst)."""
        c = self.clock
        t = c.ticks_us()
        self._now += c.ticks_diff(t, self._last)
        self._last = t
        return self._now

    def _drain(self):
        acc = self.accel
        acc.overrun()  # clear a stale overrun flag
        for _ in range(64):
            if not acc.read_fifo(self._chunk, _CHUNK):
                break
        acc.overrun()

    def _wait(self, need, rate, timed):
        """Sleep until about `need` more samples are in the FIFO (or INT1 says the watermark is).
        timed: ignore the pin (it claimed data that was not there)."""
        clock = self.clock
        us = need * 1000000 // rate
        if us < 100:
            us = 100
        pin = self.irq
        if pin is None or timed:
            clock.sleep_us(us)
            return
        step = us >> 2
        if step < 50:
            step = 50
        waited = 0
        while not pin.value() and waited < 2 * us:
            clock.sleep_us(step)
            waited += step

    def acquire(self, restart=True):
        """Fill one window. restart=True starts from a fresh FIFO (windows spaced by a report
        interval); restart=False continues the stream (back-to-back windows, no gap).
        Raises SensorError on a bus error or a chip that stopped (the window is dropped)."""
        acc = self.accel
        clock = self.clock
        n = self.n
        x, y, z = self.axes
        chunk = self._chunk
        rate = acc.rate
        wm = acc.watermark
        no_data_us = 4 * acc.FIFO_DEPTH * 1000000 // rate
        if no_data_us < 50000:
            no_data_us = 50000
        continued = not restart and self._streaming
        try:
            if not continued:
                self._drain()
                self._streaming = True
                self._s_t0 = -1
                self._last = clock.ticks_us()
                self._now = 0
                self._base_ms = 0
            got = 0
            ovr = False
            t_first = -1
            l_first = 0
            t_data = self._tick()
            while got < n:
                want = n - got
                if want > _CHUNK:
                    want = _CHUNK
                t = self._tick()
                k = acc.read_fifo(chunk, want)
                if k:
                    if t_first < 0:
                        t_first = t
                        l_first = acc.level
                        if self._s_t0 < 0:
                            self._s_t0 = t
                            self._s_l0 = l_first
                            self._s_got = 0
                    _deinterleave(chunk, k, x, y, z, got)
                    got += k
                    t_data = t
                    if acc.overrun():
                        ovr = True
                    if acc.level > k:
                        continue  # more waiting: read on
                else:
                    self.empty_polls += 1
                    if self._tick() - t_data > no_data_us:
                        raise SensorError(NO_DATA, "%s produced no sample for %d ms" % (acc.NAME, no_data_us // 1000))
                need = n - got
                self._wait(wm if need > wm else need, rate, k == 0)
            t_end = self._tick()
            pending = acc.fifo_level()
        except OSError as e:
            self.dropped += 1
            self._streaming = False
            err = from_bus(e, acc.NAME)
            self.last_error = str(err)
            raise err
        seen = got + pending - l_first  # samples produced after the first read
        span = t_end - t_first
        if span > 0 and seen > 0:
            self.rate_measured_mhz = _mhz(seen, span)
        self._s_got += got
        span = t_end - self._s_t0
        if self._base_ms:  # a long stream: its span in milliseconds
            span = self._base_ms + span // 1000
            if span > 0:
                self.stream_rate_mhz = _scaled(self._s_got + pending - self._s_l0, span, 6)
        elif span > 0:
            self.stream_rate_mhz = _mhz(self._s_got + pending - self._s_l0, span)
        self.t_start_us = t_first - l_first * 1000000 // rate
        self.t_end_us = t_end
        lost = 0
        if ovr:
            if continued:  # produced since the last window ended, at the nominal ODR
                expect = _due(t_end - self._prev_end, rate) + self._prev_pending
            else:
                expect = _due(t_end - t_first, rate) + l_first
            lost = expect - got - pending
            if lost < 1:
                lost = 1
            self.overruns += 1
            self.lost += lost
        self._prev_end = t_end
        self._prev_pending = pending
        self.window_overrun = ovr
        self.window_lost = lost
        self.windows += 1
        self.samples += got
        if self._now > _REBASE_US:  # keep stream times small: move whole ms into the origin
            sh = self._now - self._now % 1000
            self._now -= sh
            self._prev_end -= sh
            self._base_ms += sh // 1000  # (_s_t0 stays in the first frame: span = base + t - t0)
        return True
