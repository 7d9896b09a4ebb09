# Sampler: drains an accelerometer FIFO at its watermark into a window, without gaps.
#
# Nothing interrupts a window's acquisition: the node computes and reports between windows
# (acquire -> compute -> report), as commercial wireless sensors do, because a chip FIFO holds
# only 8-170 ms of samples. Polling is scheduled from the ODR (sleep until the FIFO should have
# reached its watermark), through the board clock, so on the host it runs in emulated time.
#
#   s = Sampler(accel, clock, n=2048)
#   s.acquire()           # fills s.axes[0..2] (array('h') each), returns True when complete
#   s.t_start_us, s.rate_measured_mhz, s.overruns, s.dropped
import array
import micropython

_CHUNK = 32


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


class Sampler:
    def __init__(self, accel, clock, n):
        self.accel = accel
        self.clock = clock
        self.n = n
        self.axes = [array.array("h", bytes(2 * n)) for _ in range(3)]
        self._chunk = array.array("h", bytes(2 * 3 * _CHUNK))
        self.overruns = 0  # windows in which the FIFO overran (samples lost)
        self.dropped = 0  # windows discarded (bus error mid-window)
        self.windows = 0
        self.samples = 0
        self.t_start_us = 0
        self.t_end_us = 0
        self.rate_measured_mhz = 0
        self.window_overrun = False

    def acquire(self, restart=True):
        """Fill one window. restart=True starts from a fresh FIFO (windows spaced by a report
        interval); restart=False continues the stream (back-to-back windows, no gap).
        Raises OSError on a bus error (the window is counted as dropped)."""
        acc = self.accel
        clock = self.clock
        n = self.n
        x, y, z = self.axes
        chunk = self._chunk
        rate = acc.rate
        wm = acc.watermark
        # time for the FIFO to collect `wm` samples, in microseconds
        wait_us = wm * 1000000 // rate
        try:
            if restart:
                acc.overrun()  # clear a stale overrun flag
                level = acc.fifo_level()
                while level:
                    acc.read_fifo(chunk, _CHUNK)  # discard what the chip held from before
                    level = acc.fifo_level()
                acc.overrun()
            t0 = clock.now_us()
            got = 0
            ovr = False
            while got < n:
                want = n - got
                if want > _CHUNK:
                    want = _CHUNK
                k = acc.read_fifo(chunk, want)
                if k:
                    _deinterleave(chunk, k, x, y, z, got)
                    got += k
                    if acc.overrun():
                        ovr = True
                    continue
                clock.sleep_us(wait_us if want >= wm else want * 1000000 // rate)
            t1 = clock.now_us()
            pending = acc.fifo_level()
        except OSError:
            self.dropped += 1
            raise
        span = t1 - t0
        if span > 0:
            self.rate_measured_mhz = (got + pending) * 1000000000 // span
        self.t_start_us = t0
        self.t_end_us = t1
        self.window_overrun = ovr
        if ovr:
            self.overruns += 1
        self.windows += 1
        self.samples += got
        return True
