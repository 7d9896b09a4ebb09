# Streaming envelope and high-frequency features for a wide-band accelerometer (IIS3DWB).
#
#   f = StreamFeatures(26667, acc.scale, cfg=config["features"].get("stream"), axes=3,
#                      fcfg=config["features"], work=window_engine.work())   # (shared FFT buffers)
#   s = Streamer(acc, clock); s.start(); f.reset()
#   sink = f.feed                           # (bound once: f.feed makes a new bound method each time)
#   while not f.full(): s.step(sink)        # each FIFO block as it arrives: no full-rate window
#   f.finish()                              # spectra and results (floating point, once)
#   f.result(axis) -> compact telemetry dict; f.envelope(axis) -> all defect lines
#   f.spectrum_u16(axis) -> (array('H'), df Hz, g per unit): the envelope spectrum export
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
import array
import math

from features.engine import FeatureEngine
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


def _bp(lo, hi, fs):
    """Two biquads (Q12) of the order-2 Butterworth band-pass lo..hi (scipy.signal.butter(2, [lo, hi],
    "band", fs=fs): prototype poles moved by s -> (s**2 + w0**2) / (B s), bilinear, prewarped),
    unit gain at the centre; each section b = g (1, 0, -1)."""
    w1 = 2 * fs * math.tan(math.pi * lo / fs)
    w2 = 2 * fs * math.tan(math.pi * hi / fs)
    w0s = w1 * w2
    bw = w2 - w1
    pr, pi = -bw / math.sqrt(2) / 2, bw / math.sqrt(2) / 2  # p B / 2 for the prototype pole p
    # sqrt((p B / 2)**2 - w0**2), complex
    ar, ai = pr * pr - pi * pi - w0s, 2 * pr * pi
    mod = math.sqrt(math.sqrt(ar * ar + ai * ai))
    ang = math.atan2(ai, ar) / 2
    qr, qi = mod * math.cos(ang), mod * math.sin(ang)
    out = []
    t = 2 * fs
    wc = 2 * math.atan(math.sqrt(w0s) / t)  # the centre, digital rad/sample
    for sr, si in ((pr + qr, pi + qi), (pr - qr, pi - qi)):
        # z = (t + s) / (t - s)
        dr, di = t - sr, -si
        dd = dr * dr + di * di
        zr = ((t + sr) * dr + si * di) / dd
        zi = (si * dr - (t + sr) * di) / dd
        a1, a2 = -2 * zr, zr * zr + zi * zi
        # |(1 - e^-2jw) / (1 + a1 e^-jw + a2 e^-2jw)| at the centre
        cr, ci = 1 - math.cos(2 * wc), math.sin(2 * wc)
        er = 1 + a1 * math.cos(wc) + a2 * math.cos(2 * wc)
        ei = -a1 * math.sin(wc) - a2 * math.sin(2 * wc)
        g = math.sqrt((er * er + ei * ei) / (cr * cr + ci * ci))
        out += [int(round(v * 4096)) for v in (g, 0.0, -g, a1, a2)]
    return out


def _clamp_band(band, rate):
    top = 0.45 * rate
    lo, hi = float(band[0]), float(band[1])
    if hi > top:
        hi = top
    if lo >= hi * 0.8:
        lo = hi * 0.5
    return lo, hi


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
    def __init__(self, rate_hz, scale_g, cfg=None, axes=3, fcfg=None, work=None):
        from features import bearing
        cfg = cfg or {}
        fcfg = fcfg or {}
        n = cfg.get("n", 2048)
        if not isinstance(n, int) or n < 256 or n > 4096 or n & (n - 1):
            raise ValueError("features.stream.n: a power of two from 256 to 4096")
        self.auto = cfg.get("band") == "auto"
        for key in ("band", "hf_band"):
            b = cfg.get(key)
            if b is not None and not (key == "band" and self.auto) and \
                    not (isinstance(b, (list, tuple)) and len(b) == 2 and 0 < b[0] < b[1] <= 100000):
                raise ValueError("features.stream.%s: [lo, hi] Hz with 0 < lo < hi" % key)
        if not 1 <= cfg.get("harmonics", 3) <= 10 or not 0 < cfg.get("tol", 0.01) <= 0.2 or not cfg.get("alarm", 4.0) > 0:
            raise ValueError("features.stream: harmonics 1..10, 0 < tol <= 0.2, alarm > 0")
        self.n = n
        self.axes = axes
        self.rate_hz = rate_hz
        self.scale = scale_g
        self.fs = rate_hz / _DEC
        self.df = self.fs / n
        self.hf_band = _clamp_band(cfg.get("hf_band", (1000, 10000)), rate_hz)
        self.c = array.array("h", bytes(40))
        self.set_band(*((2000, 6000) if self.auto else cfg.get("band", (2000, 6000))))
        c = _bp(self.hf_band[0], self.hf_band[1], rate_hz)
        for i in range(10):
            self.c[10 + i] = c[i]
        self.s16 = [array.array("h", bytes(20)) for _ in range(axes)]
        self.s32 = [array.array("i", bytes(96)) for _ in range(axes)]
        self.env = [array.array("h", bytes(2 * n)) for _ in range(axes)]
        self.vel = [array.array("h", bytes(2 * n)) for _ in range(axes)]
        self.sx = [array.array("H", bytes(512)) for _ in range(axes)]  # 256-bin export
        self.sx_grp = (n // 2) // 256
        self.mult = bearing.multiples(fcfg.get("bearing"))
        self.names = [d for d in bearing.DEFECTS if self.mult and d in self.mult]
        self.harm = int(cfg.get("harmonics", 3))
        self.tol = float(cfg.get("tol", 0.01))
        self.alarm = float(cfg.get("alarm", 4.0))
        rpm = fcfg.get("rpm") or ("auto" if self.mult else None)
        ecfg = {"top_k": 1, "bands": [], "hf_band": None, "velocity": fcfg.get("velocity") or {}}
        if rpm:
            ecfg["rpm"] = rpm
            if "rpm_range" in fcfg:
                ecfg["rpm_range"] = fcfg["rpm_range"]
        self.rpm_auto = rpm == "auto"
        self.f1_fixed = float(rpm) / 60.0 if rpm and rpm != "auto" else 0.0
        # work: another n-point engine's FFT buffers (FeatureEngine.work()), shared (their contents are
        # scratch between computes, the tables depend on n only): the node's window engine has them
        self.eng = FeatureEngine(n, self.fs, cfg=ecfg, work=work)
        self.o = array.array("i", [0, 0, 0, 0])
        self.st = array.array("i", [0, 0])
        self.res = [None] * axes
        self.lines = [None] * axes
        self.ea = [0] * axes
        self._tuned = False
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
        self.band = _clamp_band((lo, hi), self.rate_hz)
        self.env_hz = [int(self.band[0]), int(self.band[1])]
        c = _bp(self.band[0], self.band[1], self.rate_hz)
        for i in range(10):
            self.c[i] = c[i]

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
        # envelope spectrum and defect lines
        ea = self.spectrum_of(self.env[ax])
        p = e.p
        k = e.k
        o = self.o
        m = self.n // 2
        g = 4.0 / self.n * (2.0 ** ea) * sc * math.pi / 4  # amplitude of sqrt(p) (env = 2 mean|band|)
        self.ea[ax] = g
        k.export_u16(p, 0, 256, self.sx_grp, self.sx[ax])
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
        r = {"rms": _sig(rms), "pk": _sig(pk), "cf": _sig(pk / rms if rms > 0 else 0.0),
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
        return self.sx[ax], self.df * self.sx_grp, self.ea[ax]

    def status(self):
        return {"band": [int(self.band[0]), int(self.band[1])], "auto": self.auto,
                "hf_band": [int(self.hf_band[0]), int(self.hf_band[1])],
                "fs_env": _sig(self.fs), "df": _sig(self.df), "impl": IMPL}
