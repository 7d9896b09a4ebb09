# Feature engine: turns one window of int16 samples per axis into vibration features.
#
#   eng = FeatureEngine(n=2048, rate_hz=3200, cfg=config["features"])
#   eng.compute(axis, samples, scale_g, clip_lo, clip_hi)   # integer kernels only: no allocation
#   eng.result(axis)                                        # compact dict for telemetry (allocates)
#   eng.spectrum_u16(axis) -> (array('H'), df Hz, g per unit)   amplitude spectrum, on request
#   eng.impl                                                "viper" or "python"
#
# Per axis and window: mean (removed before everything else), RMS, peak, peak-to-peak, crest,
# skewness, kurtosis; Hann-windowed real FFT (block floating point), single-sided amplitude
# spectrum in g, top-K interpolated peaks, dominant frequency, band RMS, high-frequency RMS,
# velocity RMS (mm/s) by frequency-domain integration with its ISO 10816-3 zone; envelope
# spectrum of a resonance band (FFT-domain band-pass + Hilbert magnitude, decimated by the
# band-limited FFT; |z| of the time-reversed band signal, same spectrum magnitudes) with bearing
# defect lines at BPFO/BPFI/BSF/FTF and harmonics.
#
# compute() runs only integer kernels and integer bookkeeping (results stay in preallocated
# int arrays); all floating point happens in result() and the export helpers, once per window.
#
# Configuration (the node's `features` section; every key optional):
#   "top_k": 3                          spectral peaks reported (1..16)
#   "bands": [[2, 10], [10, 100], ...]  band RMS in g, lo <= f < hi (default 2-10-100-1000 Hz)
#   "hf_band": [1000, 5000]             high-frequency acceleration RMS (clamped to Nyquist)
#   "velocity": {"band": [10, 1000], "group": 2, "foundation": "rigid"}
#                                       mm/s RMS, lo <= f <= hi (2-1000 Hz below 600 rpm), and
#                                       the ISO 10816-3 zone for group 1/2, rigid/flexible
#   "rpm": 1796 | "auto", "rpm_range": [600, 3600]
#                                       shaft speed: fixed, or the strongest line in the range
#                                       (the default when a bearing is configured)
#   "bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}}
#              or {"geometry": {"balls": 9, "ball_d": 7.94, "pitch_d": 39.04, "angle": 0}}
#   "envelope": {"band": [lo, hi], "harmonics": 3, "tol": 0.01, "alarm": 4.0}
#                                       resonance band (default 30-95 % of Nyquist), harmonics
#                                       per defect, search tolerance (fraction of the line, at
#                                       least 1 bin), alarm when the strongest defect's line is
#                                       `alarm` x the envelope spectrum's RMS, export length
#   "export": {"bins": 256}             spectrum export length (peak-hold over 2**k bins)
# Telemetry per axis (result()): mean, rms, pk, p2p, cf (crest), sk, ku (Pearson kurtosis),
# clipped (only when saturated), f0 (dominant Hz), pks [[Hz, g], ...], bands [g], hf (g), vel
# (mm/s), iso ("A".."D"), f1 (measured shaft Hz, with rpm "auto"), and with a bearing: env
# {dom: strongest defect, r: its line / envelope RMS, a: its line in g, alarm: true}. Three
# significant digits (MicroPython's float repr still prints some as 16 digits). All defect
# lines and harmonics: envelope(axis); the spectrum on request: spectrum_u16.
import array
import gc
import io
import math

from features import velocity

try:
    from features import timedomain as _td, fft as _fft, spectrum as _sp, envelope as _env
    _MODS = (_td, _fft, _sp, _env)
    IMPL = "viper"
except Exception:  # compiled modules unusable here (wrong arch / older MicroPython)
    _MODS = None
    IMPL = "python"

AXES = ("x", "y", "z")
_LIM = 0x400000  # FFT data limit (reference.LIM)


def _bitlen(v):
    r = 0
    while v >> r:
        r += 1
    return r


_FMT = ("%.1g", "%.2g", "%.3g", "%.4g", "%.5g")
_OUT = io.StringIO(" " * 32)  # a float's repr is printed here to be measured (no string kept)
_K163 = 16.0 / 3.0
_HALF = 0.5
_MHALF = -0.5


def _rlen(v):
    """len(repr(v)) for a float, without allocating the string (print into a fixed buffer)."""
    _OUT.seek(0)
    print(v, end="", file=_OUT)
    return _OUT.tell()


def _sig(x, d=3):
    """Round to d significant digits (compact JSON). MicroPython's float repr prints some
    decimal values with 16 digits (0.0812 -> 0.08119999999999999): then d+1 or d-1 digits are
    tried for a value that prints short. (Allocates the formatted string and the float only.)"""
    if x == 0 or x != x:
        return 0.0
    best = float(_FMT[d - 1] % x)
    if _rlen(best) <= d + 7:
        return best
    v = float(_FMT[d] % x)
    if _rlen(v) <= d + 8:
        return v
    dd = d - 1 if d > 2 else d + 2
    v = float(_FMT[dd - 1] % x)
    if _rlen(v) <= dd + 7:
        return v
    return best


# per-axis integer slots (self.td)
_S, _LO, _HI, _HH, _HL, _LL, _MEAN, _SH34, _CLIP = 0, 1, 2, 3, 4, 5, 6, 7, 8
_M34 = 9  # 13 values: sum q, then (hi, lo) of q2, q3a, q3b, q4a, q4b, q4c
_TDLEN = _M34 + 13
# exponents (self.ex): amplitude of bin k = sqrt(p_k) * 2**ex[_EA]; envelope likewise
_EA, _EE, _F1, _ENV_OK, _PSH = 0, 1, 2, 3, 4


def work_buffers(n):
    """The engine's large buffers for an n-sample window (FFT data, power spectrum, twiddles:
    7 n bytes; the Hann window is derived from the twiddles), largest first and without
    same-size temporaries, for a node that allocates them early, while its heap is in one
    piece: FeatureEngine(work=...)."""
    out = []
    for tc, k in (("i", n), ("i", n // 2 + 1), ("i", n // 4 + 1)):
        a = array.array(tc, range(k))
        for i in range(k):
            a[i] = 0
        out.append(a)
    return out


class FeatureEngine:
    def __init__(self, n, rate_hz, cfg=None, impl=None, work=None):
        self._work = work
        self.configure(cfg, n, rate_hz, impl)

    def configure(self, cfg, n=None, rate_hz=None, impl=None):
        """Buffers (with n, rate_hz) and configuration. The setup code (features/setup.py,
        with the bearing and velocity-weight helpers) is imported for the call and dropped
        after it: its bytecode would otherwise stay in RAM for the node's lifetime."""
        import sys
        import features
        from features import setup
        try:
            if n is not None:
                work = getattr(self, "_work", None)
                self._work = None
                setup.init(self, n, rate_hz, impl, _MODS, _TDLEN, work)
            setup.configure(self, cfg or {})
        finally:
            for name in ("features.setup", "features.bearing"):
                sys.modules.pop(name, None)
            for name in ("setup", "bearing"):
                try:
                    delattr(features, name)
                except (AttributeError, TypeError):
                    pass
            gc.collect()  # the setup code and its garbage leave one free run for what follows

    # ---- one window, one axis: integers only ---------------------------------------------------
    def compute(self, axis, x, scale_g, clip_lo=-32768, clip_hi=32767):
        n = self.n
        if len(x) < n:
            raise ValueError("features: window holds fewer than n samples")
        k = self.k
        td = self.td[axis]
        ex = self.ex[axis]
        o = self.o
        self.scale[axis] = scale_g
        # time domain
        k.moments(x, n, o)
        s = o[0]
        lo = o[1]
        hi = o[2]
        mean = (s + (n >> 1)) // n
        td[_S] = s
        td[_LO] = lo
        td[_HI] = hi
        td[_MEAN] = mean
        td[_CLIP] = 1 if (lo <= clip_lo or hi >= clip_hi) else 0
        maxd = hi - mean
        if mean - lo > maxd:
            maxd = mean - lo
        sh = 0
        while ((maxd + ((1 << sh) >> 1)) >> sh) > 1023:
            sh += 1
        td[_SH34] = sh
        k.moments34(x, n, mean, sh, self.m34)
        m34 = self.m34
        for i in range(13):
            td[_M34 + i] = m34[i]
        td[_HH] = m34[13]
        td[_HL] = m34[14]
        td[_LL] = m34[15]
        # spectrum
        r = _bitlen(maxd) - 7  # windowed samples below 2**22
        buf = self.buf
        p = self.p
        st = self.st
        m = self.m
        k.hann_load(x, n, mean, r, self.tw, buf)
        st[0] = 0
        k.cfft(buf, m, self.tw, 2, _LIM - 1, st)  # hann_load: |v| < 2**22
        k.rsplit(buf, m, self.tw, 1, st)
        sh = _pshift(st[1])
        k.power(buf, m, sh, p)
        em = r - 15 + st[0]
        ex[_EA] = em + sh
        ex[_PSH] = sh
        # peaks (with neighbours for interpolation)
        kk = self.K
        k.peaks(p, 1, m, kk, self.pidx, self.pval)
        pk = self.pk[axis]
        for i in range(kk):
            j = self.pidx[i]
            pk[4 * i] = j
            if j:
                pk[4 * i + 1] = p[j - 1]
                pk[4 * i + 2] = p[j]
                pk[4 * i + 3] = p[j + 1]
        # band energies, high-frequency band, velocity
        bs = self.bs[axis]
        i = 0
        for b in self.band_bins:
            k.band_sum(p, b[0], b[1], o)
            bs[i] = o[0]
            bs[i + 1] = o[1]
            i += 2
        if self.hf_bins:
            k.band_sum(p, self.hf_bins[0], self.hf_bins[1], o)
            bs[i] = o[0]
            bs[i + 1] = o[1]
        vb = self.vel_bins
        k.wsum(p, self.wm, self.we, vb[0], vb[1], self.vs[axis])
        # compact spectrum export (peak-hold over groups of bins)
        sx = self.sx[axis]
        k.export_u16(p, 0, len(sx), self.sx_grp, sx)
        # shaft frequency in 1/64 bin
        f1 = self.f1_b64
        if self.rpm_auto:
            k.range_max(p, self.rpm_bins[0], self.rpm_bins[1], o)
            f1 = self._interp_b64(o[1])
        ex[_F1] = f1
        ex[_ENV_OK] = 0
        if self.env is not None:
            self._envelope(axis, em, f1)

    def _interp_b64(self, j):
        """Peak bin j refined by the Hann-window ratio estimator, in 1/64 bin (integers only)."""
        k = self.k
        p = self.p
        if j < 1 or j >= self.m:
            return j << 6
        a = k.isqrt(p[j])
        al = k.isqrt(p[j - 1])
        ar = k.isqrt(p[j + 1])
        if a == 0:
            return j << 6
        if ar >= al:
            d = ((2 * ar - a) << 6) // (ar + a)
        else:
            d = -(((2 * al - a) << 6) // (al + a))
        if d > 32:
            d = 32
        if d < -32:
            d = -32
        return (j << 6) + d

    def _envelope(self, axis, em, f1):
        k = self.k
        buf = self.buf
        p = self.p
        st = self.st
        o = self.o
        n = self.n
        k0, k1, mm = self.env
        ex = self.ex[axis]
        bm = k.absmax(buf, 2 * k0, 2 * k1)
        if bm == 0:
            return
        s = 0
        while ((bm + 1) << (s + 1)) <= _LIM:
            s += 1
        if s == 0:
            while ((bm + 1 + ((1 << -s) >> 1)) >> -s) > _LIM:
                s -= 1
        k.band_copy(buf, k0, k1, mm, s)
        st[0] = 0
        k.cfft(buf, mm, self.tw, n // mm, _LIM, st)  # band <= LIM; forward: |z| of the time-reversed band
        c2 = st[0]
        sh2 = _pshift(k.absmax(buf, 0, 2 * mm))
        k.env_mag(buf, mm, sh2, o)
        ebar = (o[0] + (mm >> 2)) // (mm >> 1)
        k.env_prep(buf, mm, self.tw, n // mm, ebar, 0)
        st[0] = 0
        k.cfft(buf, mm >> 1, self.tw, 2 * n // mm, -1, st)
        k.rsplit(buf, mm >> 1, self.tw, n // mm, st)
        sh4 = _pshift(st[1])
        k.power(buf, mm >> 1, sh4, p)
        ex[_EE] = st[0] + sh4 + sh2 + c2 + em - s
        ex[_ENV_OK] = 1
        ev = self.ev[axis]
        mq = self.env_mq8
        nb = mm >> 1
        top = 0
        for i in range(len(mq)):
            c = (f1 * mq[i]) >> 8  # defect line, 1/64 bin
            tol = (c * self.env_tol_q10) >> 10
            if tol < 64:
                tol = 64
            lo = (c - tol + 32) >> 6
            hi = ((c + tol + 32) >> 6) + 1
            if lo < 1:
                lo = 1
            if hi > nb:
                hi = nb
            if lo < hi:
                k.range_max(p, lo, hi, o)
                ev[i] = o[0]
            else:
                ev[i] = 0
            if hi > top:
                top = hi
        # background: mean power from 1 bin to 20 % above the highest line searched
        top = top + top // 5
        if top > nb:
            top = nb
        if top < 2:
            top = 2
        k.band_sum(p, 1, top, o)
        j = len(mq)
        ev[j] = o[0]
        ev[j + 1] = o[1]
        ev[j + 2] = top - 1

    # ---- results (floating point, allocates; once per window) --------------------------------
    def _amp_scale(self, axis):
        """g per unit of sqrt(p) in single-sided amplitude (Hann coherent gain corrected)."""
        return 4.0 / self.n * (2.0 ** self.ex[axis][_EA]) * self.scale[axis]

    def time_domain(self, axis):
        td = self.td[axis]
        n = self.n
        g = self.scale[axis]
        mean = td[_MEAN]
        # The sums are integers below 2**53 (n <= 4096: sum of squares < 2**44; q = x >> sh in
        # -1023..1023: |sum q**3| < 2**42, sum q**4 < 2**52), so float() of the integer sum is
        # exact and equals the sum taken in doubles term by term, with one float object.
        ss = float((td[_HH] << 16) + (td[_HL] << 9) + td[_LL])
        rms = math.sqrt(ss / n) * g
        pk = max(td[_HI] - mean, mean - td[_LO]) * g
        b = _M34 + 1
        s2 = float((td[b] << 16) + td[b + 1])
        s3 = float((((td[b + 2] << 16) + td[b + 3]) << 10) + (td[b + 4] << 16) + td[b + 5])
        s4 = float((((td[b + 6] << 16) + td[b + 7]) << 20) + (((td[b + 8] << 16) + td[b + 9]) << 11)
                   + (td[b + 10] << 16) + td[b + 11])
        mu = td[_M34] / n
        m2 = s2 / n - mu * mu
        m3 = s3 / n - 3 * mu * s2 / n + 2 * mu ** 3
        m4 = s4 / n - 4 * mu * s3 / n + 6 * mu * mu * s2 / n - 3 * mu ** 4
        if m2 > 0:
            skew = m3 / m2 ** 1.5
            kurt = m4 / (m2 * m2)
        else:
            skew = 0.0
            kurt = 0.0
        return {"mean": td[_S] / n * g, "rms": rms, "peak": pk, "p2p": (td[_HI] - td[_LO]) * g,
                "crest": pk / rms if rms > 0 else 0.0, "skew": skew, "kurt": kurt, "clipped": bool(td[_CLIP])}

    def peaks(self, axis):
        """[(frequency Hz, amplitude g)] of the top-K spectral peaks, strongest first."""
        out = []
        sc = self._amp_scale(axis)
        pk = self.pk[axis]
        for i in range(self.K):
            j = pk[4 * i]
            if not j:
                break
            a = math.sqrt(pk[4 * i + 2])
            d = 0.0
            if a > 0:
                # the neighbours compared as integers (sqrt is monotonic): one root, not two
                if pk[4 * i + 3] >= pk[4 * i + 1]:
                    ar = math.sqrt(pk[4 * i + 3])
                    d = (2 * ar - a) / (ar + a)
                else:
                    al = math.sqrt(pk[4 * i + 1])
                    d = (a - 2 * al) / (al + a)  # = -(2 * al - a) / (al + a)
                d = max(_MHALF, min(_HALF, d))
            corr = 1.0
            if d:
                x = math.pi * d
                corr = x * (1 - d * d) / math.sin(x)
            out.append(((j + d) * self.df, a * corr * sc))
        return out

    def _band_rms(self, axis, h, l, cnt):
        e = float((h << 16) + l)  # = h * 65536.0 + l exactly (band energy < 2**43), one float
        if self.ex[axis][_PSH]:
            # components rounded to integers before squaring add 2/12 per bin on average
            e = max(0.0, e - cnt / 6.0)
        return math.sqrt(_K163 * e) / self.n * (2.0 ** self.ex[axis][_EA]) * self.scale[axis]

    def bands_rms(self, axis):
        bs = self.bs[axis]
        bb = self.band_bins
        return [self._band_rms(axis, bs[2 * i], bs[2 * i + 1], bb[i][1] - bb[i][0]) for i in range(len(bb))]

    def hf_rms(self, axis):
        if not self.hf_bins:
            return None
        i = 2 * len(self.band_bins)
        return self._band_rms(axis, self.bs[axis][i], self.bs[axis][i + 1], self.hf_bins[1] - self.hf_bins[0])

    def velocity_rms(self, axis):
        """mm/s RMS over the velocity band."""
        vs = self.vs[axis]  # (indexed: unpacking an array allocates an iterator)
        tot = ((vs[1] * 32768.0 + vs[0]) + vs[2]) * 65536.0 + vs[3]
        e = tot / 32768.0 / (2 * math.pi * self.f_ref) ** 2
        return math.sqrt(_K163 * e) / self.n * (2.0 ** self.ex[axis][_EA]) * self.scale[axis] * velocity.G_MM_S2

    def shaft_hz(self, axis):
        return self.ex[axis][_F1] / 64.0 * self.df

    def envelope(self, axis):
        """{"lines": {defect: [g at 1x, 2x, ...]}, "ratio": {defect: fundamental / background},
        "dom": strongest defect or None, "alarm": bool} or None without envelope config."""
        if self.env is None or not self.env_names:
            return None
        ex = self.ex[axis]
        lines = {}
        ratio = {}
        if not ex[_ENV_OK] or not ex[_F1]:
            for d in self.env_names:
                lines[d] = [0.0] * self.env_h
                ratio[d] = 0.0
            return {"lines": lines, "ratio": ratio, "dom": None, "alarm": False, "bg": 0.0}
        mm = self.env[2]
        sc = 4.0 / mm * 2.0 / self.n * (2.0 ** ex[_EE]) * self.scale[axis]
        ev = self.ev[axis]
        j = len(self.env_mq8)
        cnt = ev[j + 2]
        bg = math.sqrt((ev[j] * 65536.0 + ev[j + 1]) / cnt) * sc if cnt > 0 else 0.0
        i = 0
        dom = None
        best = 0.0
        for d in self.env_names:
            amps = []
            for h in range(self.env_h):
                amps.append(math.sqrt(ev[i]) * sc)
                i += 1
            lines[d] = amps
            ratio[d] = amps[0] / bg if bg > 0 else 0.0
            if ratio[d] > best:
                best = ratio[d]
                dom = d
        return {"lines": lines, "ratio": ratio, "dom": dom, "alarm": best >= self.env_alarm, "bg": bg}

    def _env_dom(self, axis):
        """(strongest defect or None, its fundamental / background, its fundamental in g) as in
        envelope(), without the full line table; None without envelope config."""
        if self.env is None or not self.env_names:
            return None
        ex = self.ex[axis]
        if not ex[_ENV_OK] or not ex[_F1]:
            return None, 0.0, 0.0
        ev = self.ev[axis]
        j = len(self.env_mq8)
        cnt = ev[j + 2]
        if cnt <= 0:
            return None, 0.0, 0.0
        bg2 = (ev[j] * 65536.0 + ev[j + 1]) / cnt
        if bg2 <= 0:
            return None, 0.0, 0.0
        best = 0
        dom = None
        for i in range(len(self.env_names)):
            v = ev[i * self.env_h]
            if v > best:  # ratios share the background: the largest line wins (ties: first)
                best = v
                dom = self.env_names[i]
        if dom is None:
            return None, 0.0, 0.0
        mm = self.env[2]
        sc = 4.0 / mm * 2.0 / self.n * (2.0 ** ex[_EE]) * self.scale[axis]
        return dom, math.sqrt(best / bg2), math.sqrt(best) * sc

    def result(self, axis):
        """The compact per-axis telemetry dict (3 significant digits). Built as one dict of its
        final size (each later key would regrow its table: a fresh block in a full heap)."""
        t = self.time_domain(axis)
        pks = self.peaks(axis)
        v = self.velocity_rms(axis)
        hf = self.hf_rms(axis)
        dom = self._env_dom(axis)
        r = {"mean": _sig(t["mean"]), "rms": _sig(t["rms"], 4), "pk": _sig(t["peak"]), "p2p": _sig(t["p2p"]),
             "cf": _sig(t["crest"]), "sk": _sig(t["skew"]), "ku": _sig(t["kurt"]), "clipped": True,
             "f0": 0.0, "pks": [[_sig(f, 4), _sig(a)] for f, a in pks],
             "bands": [_sig(b) for b in self.bands_rms(axis)] if self.band_bins else None,
             "hf": _sig(hf) if hf is not None else None, "vel": _sig(v), "iso": velocity.zone(v, self.iso),
             "f1": None, "env": None}
        if pks:
            r["f0"] = r["pks"][0][0]  # _sig(pks[0][0], 4), the same number
        if not t["clipped"]:
            del r["clipped"]
        t = pks = None
        if not self.band_bins:
            del r["bands"]
        if hf is None:
            del r["hf"]
        if dom is not None and self.rpm_auto:
            r["f1"] = _sig(self.shaft_hz(axis), 4)
        else:
            del r["f1"]
        if dom is not None:
            d, ratio, amp = dom
            e = {"dom": d, "r": _sig(ratio) if d else 0.0, "a": _sig(amp) if d else 0.0}
            if d and ratio >= self.env_alarm:
                e["alarm"] = True
            r["env"] = e
        else:
            del r["env"]
        return r

    def work(self):
        """The engine's work buffers (work_buffers() order), for an engine made again on them,
        and as 4th item the table hann_load takes: the twiddles themselves (the Hann window is
        derived from them)."""
        return self.buf, self.p, self.tw, self.tw

    def spectrum_u16(self, axis):
        """(array('H') amplitudes, bin spacing Hz, g per unit): peak-hold over groups of bins;
        bin i covers i*df .. (i+1)*df."""
        return self.sx[axis], self.df * self.sx_grp, self._amp_scale(axis)


def clip_limits(range_g, scale_g):
    """(lo, hi) counts at which a chip of +-range_g with scale_g g per count is taken as
    saturated (99.5 % of full scale, so chips whose full scale is not a power of two count too)."""
    c = int(range_g / scale_g * 0.995) if scale_g > 0 else 32767
    if c > 32767:
        c = 32767
    return -c, c


def _pshift(mx):
    """Right shift that brings |v| <= mx + 1 to at most 32767 after rounding."""
    sh = 0
    while ((mx + 1 + ((1 << sh) >> 1)) >> sh) > 32767:
        sh += 1
    return sh
