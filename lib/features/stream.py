# Streaming envelope and high-frequency features for a wide-band accelerometer (IIS3DWB).
#
#   f = StreamFeatures(26667, acc.scale, cfg=config["features"].get("stream"), axes=3,
#                      fcfg=config["features"], work=work_buffers(2048), bufs=...)  # (made early)
#   s = Streamer(acc, clock); s.start(); f.reset()
#   sink = f.feed                           # (bound once: f.feed makes a new bound method each time)
#   while not f.full(): s.step(sink)        # each FIFO block as it arrives: no full-rate window
#   f.finish()                              # spectra and results (floating point, once)
#   f.result(axis) -> compact telemetry dict; f.envelope(axis) -> all defect lines
#   f.spectrum_u16(axis) -> (array('H'), df Hz, g per unit): the envelope spectrum export (made on
#                           request from the envelope buffer: before the buffers are used again)
#
# Per block and axis, integers only (features/streamk.py, viper; stream_ref.py its twin): the
# envelope band-pass (default 2-6 kHz, order-2 Butterworth), rectification, an order-2 CIC low-pass decimating by 16
# into an n-point envelope buffer (n = 2048 at 26.667 kHz: 1667 Hz, 0.81 Hz per bin, 1.23 s);
# the raw signal through the same decimator into a velocity buffer; HF RMS and peak over the
# hf_band (default 1-10 kHz); moments of the full-rate signal. Once per window: the envelope's
# spectrum (features/fft.py: Hann, fixed-point real FFT), bearing lines at BPFO/BPFI/BSF/FTF and
# harmonics (features/bearing.py), velocity RMS and ISO zone from the decimated stream (a
# FeatureEngine at the decimated rate, band 10 Hz to 0.5 x 1667 Hz), the rpm fixed or "auto".
# Rectified mean x pi/2 is the envelope amplitude (a Hilbert magnitude's) for a narrow band.
# Config ("features": {"stream": {...}}, every key optional): band [lo, hi] Hz or "auto" (found from a
# full-rate spectrum: vibenode/wideband.py, features/resonance.py; 2-6 kHz until found), hf_band [lo, hi],
# n (envelope points, power of two 256..4096), harmonics, tol, alarm; rpm / rpm_range / bearing /
# velocity come from the features section itself. Bands are clamped below 0.45 x the rate.
# Between windows the buffers are free: spectrum_of(x) gives the full-rate spectrum of a short block
# (a wide-band node's spectrum capture, the band search) and set_band() retunes the envelope band.
import math

from features import velocity

try:
    from features.streamk import block as _block
    IMPL = "viper"
except Exception:
    from features.stream_ref import block as _block
    IMPL = "python"

_DEC = 16
_WARM = 8  # decimated outputs discarded after reset (filters settling: 4.8 ms)
_LIM = 0x400000
_TGT = 36  # moments: the first block's largest deviation maps to this (5x headroom to the +-180 clamp)


def _setup(fn, *args):
    """features/streamset.py's fn(*args) (construction, a new band): its code is loaded for the call
    and dropped after (it would otherwise sit in the heap while the node measures)."""
    import sys
    import features
    from features import streamset
    try:
        return getattr(streamset, fn)(*args)
    finally:
        streamset = None
        for name in ("streamset", "bearing"):
            sys.modules.pop("features." + name, None)
            try:
                delattr(features, name)
            except Exception:  # (KeyError on MicroPython when already gone)
                pass


def _bitlen(v):
    r = 0
    while v >> r:
        r += 1
    return r


def _pshift(mx):
    sh = 0
    while ((mx + 1 + ((1 << sh) >> 1)) >> sh) > 32767:
        sh += 1
    return sh


def _sig(x):
    return float("%.3g" % x)


class StreamFeatures:
    def __init__(self, rate_hz, scale_g, cfg=None, axes=3, fcfg=None, work=None, bufs=None):
        """Buffers, filters and the velocity engine (features/streamset.py, loaded for the call).
        work: FFT buffers (setup.work_buffers(n)), bufs: six zeroed array('h') of n (envelope x, y, z,
        velocity x, y, z), both made early by a node while its heap is in one piece; used if n fits."""
        _setup("init", self, rate_hz, scale_g, cfg or {}, axes, fcfg or {}, work, bufs)
        self.reset()

    def reset(self):
        """A new window (after a gap in the stream: the filters start again)."""
        for ax in range(self.axes):
            t = self.s16[ax]
            for i in range(10):
                t[i] = 0
            s = self.s32[ax]
            ref, sh = s[10], s[11]
            for i in range(24):
                s[i] = 0
            s[10], s[11] = ref, sh
            s[19], s[20], s[22] = 32767, -32768, -_WARM

    def set_band(self, lo, hi):
        """The envelope band-pass lo..hi Hz (clamped below 0.45 x the rate); takes effect at the next
        reset() (between windows)."""
        _setup("band", self, lo, hi)

    def full(self):
        for ax in range(self.axes):
            if self.s32[ax][22] < self.n:
                return False
        return True

    def _tune(self, blk, k):
        """Moments' reference and shift from the first block of a stream (later: each window's)."""
        for ax in range(self.axes):
            lo = hi = blk[ax]
            for i in range(k):
                v = blk[3 * i + ax]
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
            s = self.s32[ax]
            s[10] = (lo + hi) // 2
            s[11] = self._shift((hi - lo) // 2, _TGT)
        self._tuned = True

    @staticmethod
    def _shift(dev, tgt):
        sh = 0
        while ((dev + ((1 << sh) >> 1)) >> sh) > tgt:
            sh += 1
        return sh

    def feed(self, blk, k):
        """One block (x, y, z interleaved int16, k sets): allocates nothing."""
        if not self._tuned:
            self._tune(blk, k)
        n = self.n
        for ax in range(self.axes):
            if self.s32[ax][22] < n:
                _block(blk, 0, k, ax, self.c, self.s16[ax], self.s32[ax], self.env[ax], self.vel[ax], n)

    # ---- once per window: floating point allowed -----------------------------------------------
    def finish(self):
        for ax in range(self.axes):
            self._finish(ax)

    def spectrum_of(self, x):
        """Power spectrum of x (n int16) into the engine's p (self.eng.p, n/2 bins); returns the
        amplitude exponent: bin k's amplitude is sqrt(p[k]) * 4 / n * 2**exponent counts (Hann)."""
        e = self.eng
        k = e.k
        buf, p, tw, win = e.work()
        o = self.o
        st = self.st
        n = self.n
        k.moments(x, n, o)
        mean = (o[0] + (n >> 1)) // n
        maxd = max(o[2] - mean, mean - o[1], 1)
        r = _bitlen(maxd) - 7
        k.hann_load(x, n, mean, r, win, buf)
        st[0] = 0
        k.cfft(buf, n // 2, tw, 2, _LIM - 1, st)
        k.rsplit(buf, n // 2, tw, 1, st)
        sh = _pshift(st[1])
        k.power(buf, n // 2, sh, p)
        return r - 15 + st[0] + sh

    def _finish(self, ax):
        e = self.eng
        sc = self.scale
        s = self.s32[ax]
        # velocity (and the shaft speed, with rpm "auto") from the decimated raw stream
        e.compute(ax, self.vel[ax], sc)
        v = e.velocity_rms(ax)
        f1 = e.shaft_hz(ax) if self.rpm_auto else self.f1_fixed
        pks = e.peaks(ax)  # (top_k 1: the dominant frequency below 0.5 x 1667 Hz)
        f0 = pks[0][0] if pks else 0.0
        pks = None
        # envelope spectrum and defect lines
        ea = self.spectrum_of(self.env[ax])
        p = e.p
        k = e.k
        o = self.o
        m = self.n // 2
        g = 4.0 / self.n * (2.0 ** ea) * sc * math.pi / 4  # amplitude of sqrt(p) (env = 2 mean|band|)
        self.ea[ax] = g
        lines = {}
        top = 2
        for d in self.names:
            amps = []
            for h in range(1, self.harm + 1):
                c = f1 * self.mult[d] * h / self.df
                tol = max(1.0, c * self.tol)
                lo = max(1, int(c - tol + 0.5))
                hi = min(m, int(c + tol + 0.5) + 1)
                if lo < hi:
                    k.range_max(p, lo, hi, o)
                    amps.append(math.sqrt(o[0]) * g / self._cic(c * self.df))
                else:
                    amps.append(0.0)
                top = max(top, hi)
            lines[d] = amps
        top = min(m, top + top // 5)
        k.band_sum(p, 1, top, o)
        bg = math.sqrt((o[0] * 65536.0 + o[1]) / (top - 1)) * g
        k.peaks(p, 1, m, 1, e.pidx, e.pval)
        j = e.pidx[0]
        fpk = 0.0
        if 1 <= j < m:
            a, al, ar = math.sqrt(p[j]), math.sqrt(p[j - 1]), math.sqrt(p[j + 1])
            d = (2 * ar - a) / (ar + a) if ar >= al else (a - 2 * al) / (al + a)
            d = max(-0.5, min(0.5, d))
            fpk = (j + d) * self.df
            apk = a * g * (math.pi * d * (1 - d * d) / math.sin(math.pi * d) if d else 1.0) / self._cic(fpk)  # Hann
        else:
            apk = 0.0
        dom, best = None, 0.0
        for d in self.names:
            if lines[d][0] > best:
                dom, best = d, lines[d][0]
        ratio = best / bg if bg > 0 else 0.0
        # time domain (full rate) and HF
        ns = s[23] or 1
        sh = 1 << s[11]
        mu = s[12] / ns
        s2 = s[13] / ns
        s3 = (s[14] * 4096.0 + s[15]) / ns
        s4 = (s[16] * 65536.0 + s[17]) / ns
        m2 = s2 - mu * mu
        m3 = s3 - 3 * mu * s2 + 2 * mu ** 3
        m4 = s4 - 4 * mu * s3 + 6 * mu * mu * s2 - 3 * mu ** 4
        mean = s[21] / ns
        rms = math.sqrt(max(m2, 0.0)) * sh * sc
        pk = max(s[20] - mean, mean - s[19]) * sc
        hf = math.sqrt((s[7] * 65536.0 + s[8]) / ns) * sc
        self.lines[ax] = {"lines": lines, "bg": bg, "f1": f1, "peak": (fpk, apk)}
        r = {"mean": _sig(mean * sc), "rms": _sig(rms), "pk": _sig(pk), "p2p": _sig((s[20] - s[19]) * sc),
             "cf": _sig(pk / rms if rms > 0 else 0.0), "f0": float("%.4g" % f0),
             "sk": _sig(m3 / m2 ** 1.5 if m2 > 0 else 0.0), "ku": _sig(m4 / (m2 * m2) if m2 > 0 else 0.0),
             "hf": _sig(hf), "hfpk": _sig(s[9] * sc), "vel": _sig(v), "iso": velocity.zone(v, e.iso),
             "env": {"dom": dom, "r": _sig(ratio), "a": _sig(best)}}
        if dom and ratio >= self.alarm:
            r["env"]["alarm"] = True
        if s[18]:
            r["qclip"] = s[18]  # moments clamped: the next window's shift is coarser
        self.res[ax] = r
        # the next window's moments reference and shift from this one
        s[10] = int(mean)
        s[11] = self._shift(max(s[20] - s[10], s[10] - s[19]), 150)

    def _cic(self, f):
        """The decimator's gain at f Hz: (sin(pi f D / fs) / (D sin(pi f / fs)))**2 (-0.3 dB at 160 Hz):
        envelope lines are divided by it."""
        x = math.pi * f / self.rate_hz
        if x <= 0 or x * _DEC >= math.pi:
            return 1.0
        return (math.sin(x * _DEC) / (_DEC * math.sin(x))) ** 2

    def result(self, ax):
        return self.res[ax]

    def envelope(self, ax):
        """All defect lines (g of envelope amplitude) per harmonic, background, shaft Hz, and the
        strongest envelope line (Hz, g)."""
        return self.lines[ax]

    def spectrum_u16(self, ax):
        """The envelope spectrum of axis ax's last window, 256 bins (peak-hold over sx_grp), made again
        from its envelope buffer (the same numbers as finish()): one export buffer for all axes,
        made at the first request (features/streamset.py: on request)."""
        return _setup("spectrum_u16", self, ax)

    def status(self):
        """band (in use), auto, hf_band, fs_env, df, impl (features/streamset.py)."""
        return _setup("status", self, IMPL)
