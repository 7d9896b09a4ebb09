# The wide-band node's full rate on request (vibenode/wideband.py loads this for a capture or the band
# search and drops it at the next window): a short block of one axis into a free envelope buffer (the
# waveform capture), its spectrum (the spectrum capture), and with features.stream.band "auto" the
# envelope band found in x's spectrum (features/resonance.py). Between windows only: the envelope
# buffers and the FFT buffers are free then.
import array

from vibenode import drop
from vibenode.log import log


def buffers(fcfg, n):
    """The envelope and velocity buffers of the streamed axes ([env x, y, z, vel x, y, z], None for
    an axis not streamed; zeroed array('h') of n), for sensing to make early, while the heap is in
    one piece (as it makes the window buffers of the other chips): Wideband(bufs=...)."""
    from vibenode.wideband import axes_of
    from features.stream import IMPL
    axes = axes_of(fcfg.get("stream") or {})
    out = [None] * 6
    for i in range(axes if axes in (1, 2, 3) else 3):
        for j in (i, 3 + i):
            if j == 3 and IMPL == "viper":
                continue  # (x's velocity stream goes into the FFT buffer: FeatureEngine.upper())
            a = array.array("h", range(n))  # (no same-size temporary)
            for k in range(n):
                a[k] = 0
            out[j] = a
    return out


class _Copy:
    """A Streamer sink: axis ax of each block into buf until it is full."""

    def __init__(self, buf, ax):
        self.buf = buf
        self.ax = ax
        self.pos = 0

    def __call__(self, blk, k):
        buf = self.buf
        ax = self.ax
        pos = self.pos
        n = len(buf)
        i = 0
        while i < k and pos < n:
            buf[pos] = blk[3 * i + ax]
            pos += 1
            i += 1
        self.pos = pos


def block(w, ax):
    """n full-rate samples of axis ax (array('h')) in envelope buffer ax (x's for an axis not
    streamed): taken now unless that buffer holds them since the last window (a capture asks twice)."""
    f = w.f
    i = ax if ax < f.axes else 0
    tag = 4 * w.windows + ax
    buf = f.env[i]
    if w.tags[i] == tag:
        return buf
    w.tags[i] = -1
    sink = _Copy(buf, ax)
    s = w.s
    s.start()
    s.run(f.n, sink)
    if sink.pos < f.n:
        raise OSError("short block")
    w.tags[i] = tag
    return buf


def full(w, ax):
    """The spectrum of a full-rate block of axis ax into w.fx (256 bins, w.fx_g g per unit); with
    band "auto", x's also moves the envelope band to the resonance found there."""
    f = w.f
    x = block(w, ax)
    ea = f.spectrum_of(x)
    e = f.eng
    if w.fx is None:
        w.fx = array.array("H", range(256))
    e.k.export_u16(e.p, 0, 256, (f.n // 2) // 256, w.fx)
    w.fx_g = 4.0 / f.n * (2.0 ** ea) * f.scale
    if f.auto and ax == 0:
        from features import resonance
        lv = resonance.levels(e.p, f.rate_hz / f.n, e.k, f.o, 4.0 ** ea, f.rate_hz)
        band = resonance.find(lv, w.learned)
        w.learned = resonance.learn(w.learned, lv)
        resonance = None
        drop("features.resonance")
        if band is not None:
            f.set_band(band[0], band[1])
            log("sensor", "envelope band %d-%d Hz (over the %s level)" % band)
