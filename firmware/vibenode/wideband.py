# Wide-band accelerometers (IIS3DWB, 26.667 kHz): the stream is the measurement. Each window is one
# envelope window streamed block by block (window/stream.py -> features/stream.py; nothing stores a
# full-rate window of three axes): rms/pk/cf/sk/ku at the full rate, hf/hfpk over 1-10 kHz, vel/iso
# from the decimated stream, env from the envelope spectrum (1.23 s, 0.81 Hz bins at n = 2048).
# Made by sensing.py for a driver with WIDEBAND, in place of the window sampler and feature engine:
# a Wideband has the parts of both that the node uses (n, rate_measured_mhz, window_lost,
# window_overrun, overruns, axes; result, impl, iso, spectrum_u16).
# The full rate only where needed, one axis at a time (blocks of different axes are not simultaneous),
# into a free envelope buffer between windows (vibenode/wideblock.py, loaded for it):
#   axes[a]            a short full-rate block of axis a (n samples: 77 ms): the waveform capture
#   spectrum_u16(a)    its spectrum (256 bins to 0.5 x the rate, 52 Hz): the spectrum capture
# wideblock.buffers(): the streamed axes' envelope and velocity buffers, made early by sensing.py.
# Config: features.stream (features/stream.py); "axes": 1..3 streams x, x and y, or all three
# (heap: 8 KB of buffers per axis at n = 2048; default: 3 on a PSRAM heap, 1 on a small one, see
# axes_of()); "band": "auto" finds the envelope band from the spectrum of an x block
# (features/resonance.py) before the first window and again at each spectrum capture of x; status
# shows the band in use (env_band).

from features.stream import StreamFeatures
from window.stream import Streamer
from vibenode import drop, small_heap

_WARM = 16 * 8 + 256  # samples beyond the window: the kernel's warm-up and one block


def axes_of(scfg):
    """features.stream.axes; by default all three on a PSRAM heap, x alone on a small one (no PSRAM:
    the node with three streamed axes needs ~16 KB more than the device-fit budget, docs/memory.md)."""
    a = scfg.get("axes")
    if a is None:
        return 1 if small_heap() else 3
    return a


class _Blocks:
    """axes[a]: a fresh full-rate block of axis a (the waveform capture's window)."""

    def __init__(self, w):
        self.w = w

    def __getitem__(self, a):
        return self.w.block(a)


class Wideband:
    def __init__(self, acc, clock, irq, fcfg, health, work=None, bufs=None):
        """work: FFT buffers made early (setup.work_buffers(n)); bufs: six int16 arrays of n made
        early (the envelope and velocity buffers of three axes); each used if its n fits."""
        self.health = health
        try:
            scfg = fcfg.get("stream") or {}
            axes = axes_of(scfg)
            if axes not in (1, 2, 3):
                raise ValueError("features.stream.axes: 1, 2 or 3 (x, xy, xyz), got %r" % (axes,))
            self.f = StreamFeatures(acc.rate, acc.scale, cfg=scfg, axes=axes, fcfg=fcfg, work=work, bufs=bufs)
        except (ValueError, KeyError, TypeError) as e:
            health.set_error("features", "features.stream config: %s (defaults used)" % (e,))
            self.f = StreamFeatures(acc.rate, acc.scale, axes=axes_of({}), fcfg={}, work=work, bufs=bufs)
        f = self.f
        self.s = Streamer(acc, clock, irq=irq)
        self.sink = f.feed  # (bound once)
        self.done = False
        self.n = f.n
        self.impl = f.eng.impl
        self.iso = f.eng.iso
        self.windows = 0
        self.rate_measured_mhz = 0
        self.window_lost = 0
        self.window_overrun = False
        self.overruns = 0  # windows with an overrun
        self.axes = _Blocks(self)
        self.learned = None  # lowest band levels seen (features/resonance.py)
        self.fx = None  # the full-rate spectrum export (array('H'), 256 bins), made at the first capture
        self.fx_g = 0.0
        self.tags = [-1, -1, -1]  # which block each envelope buffer holds: axis + 4 x window count
        self._searched = False
        self._loaded = False

    def measure(self, sense):
        """One streamed window; False (counted as a dropped window) on a bus error."""
        f = self.f
        s = self.s
        self.done = False
        tag = self.tags
        tag[0] = tag[1] = tag[2] = -1  # (the envelope buffers are about to be written)
        try:
            if f.auto and not self._searched:
                self._rare().full(self, 0)  # the band from the spectrum, once at start
                self._searched = True
            if self._loaded:
                self._loaded = False
                drop("vibenode.wideblock")
            lost, ovr = s.lost, s.overruns
            s.start()
            f.reset()
            s.run(f.n * 16 + _WARM, self.sink)
            if not f.full():
                raise OSError("stream ended early")
        except OSError as e:
            sense.windows_dropped += 1
            sense.health.set_error("accel", "streamed window dropped: %s" % (e,))
            return False
        sense.health.clear_error("accel")
        f.finish()
        self.windows += 1
        self.rate_measured_mhz = s.rate_mhz()
        self.window_lost = s.lost - lost
        self.window_overrun = s.overruns > ovr
        if self.window_overrun:
            self.overruns += 1
        self.done = True
        return True

    def result(self, ax):
        return self.f.result(ax) if ax < self.f.axes and self.done else None

    def overlay(self, rep):
        """Axes not streamed leave the reading; stream losses as wb_lost."""
        for i in range(self.f.axes, 3):
            rep.pop("xyz"[i], None)
        if self.s.lost:
            rep["wb_lost"] = self.s.lost

    # ---- the full rate on request, one axis at a time (between windows): vibenode/wideblock.py --
    def _rare(self):
        """vibenode/wideblock.py: loaded for a capture or the band search, dropped at the next window."""
        from vibenode import wideblock
        self._loaded = True
        return wideblock

    def block(self, ax):
        """n full-rate samples of axis ax (array('h')) in a free envelope buffer (see wideblock.block)."""
        return self._rare().block(self, ax)

    def spectrum_u16(self, ax):
        """The full-rate amplitude spectrum of a fresh block of axis ax: (array('H'), Hz per bin,
        g per unit); bin i covers i*df .. (i+1)*df, peak-hold over groups of FFT bins."""
        self._rare().full(self, ax)
        return self.fx, self.f.rate_hz / self.f.n * ((self.f.n // 2) // 256), self.fx_g
