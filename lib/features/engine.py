# Feature engine: turns one window of int16 samples per axis into vibration features.
#
#   eng = FeatureEngine(n=2048, rate_hz=3200, cfg=config["features"])
#   eng.compute(axis, samples, scale_g, clip_lo, clip_hi)   # integer kernels only: no allocation
#   eng.result(axis)                                        # compact dict for telemetry (allocates)
#   eng.spectrum_u16(axis) -> (array('H'), df Hz, g per unit)   amplitude spectrum, on request
#   eng.envelope(axis), eng.time_domain(axis)               # all defect lines, statistics, on request
#   eng.impl                                                "viper" or "python"
# Float results: peaks and velocity here, the rest in features/result.py (loaded at the first
# result()); on request: features/detail.py (loaded for the call and dropped after).
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
import math

from features import velocity

try:
    from micropython import const
except ImportError:  # CPython (the host tests run the engine with the plain-Python twins);
    def const(x):    # result.py and detail.py take const from here
        return x

K163 = 16.0 / 3.0  # power sum to mean square: single-sided (2) x Hann (mean w**2 = 3/8)
# per-axis integer slots (self.td); result.py and detail.py read them by the same const() names
_S = const(0)
_LO = const(1)
_HI = const(2)
_HH = const(3)
_HL = const(4)
_LL = const(5)
_MEAN = const(6)
_SH34 = const(7)
_CLIP = const(8)
_M34 = const(9)  # 13 values: sum q, then (hi, lo) of q2, q3a, q3b, q4a, q4b, q4c
_TDLEN = const(22)
# exponents (self.ex): amplitude of bin k = sqrt(p_k) * 2**ex[_EA]; envelope likewise
_EA = const(0)
_EE = const(1)
_F1 = const(2)
_ENV_OK = const(3)
_PSH = const(4)

try:  # (features/envelope.py's kernels: added by setup.py for an engine with an envelope)
    from features import timedomain as _td, fft as _fft, spectrum as _sp
    _MODS = (_td, _fft, _sp)
    IMPL = "viper"
except Exception:  # compiled modules unusable here (wrong arch / older MicroPython)
    _MODS = None
    IMPL = "python"

_LIM = const(0x400000)  # FFT data limit (reference.LIM)


def _bitlen(v):
    r = 0
    while v >> r:
        r += 1
    return r


def _drop(*names):
    """Forget features.<name> (code loaded for one call): its bytecode is freed by the next
    collection (its qstrs stay)."""
    import sys
    import features
    for name in names:
        sys.modules.pop("features." + name, None)
        try:
            delattr(features, name)
        except (AttributeError, TypeError):
            pass


def _result():
    """features/result.py, imported at the first result() and kept (a wide-band node's velocity
    engine never asks for it)."""
    from features import result
    return result


class FeatureEngine:
    def __init__(self, n, rate_hz, cfg=None, impl=None, work=None, spectra=True, axes=3):
        """axes: how many axes (0 .. axes - 1) the engine keeps state for (the wide-band node's
        velocity engine: only the streamed ones)."""
        self._work = work
        self.axes = axes
        self.sx = [None] * axes  # per axis: its compact spectrum (spectrum_u16), while kept
        self.sx_n = 0
        self._spectra = spectra  # False: none kept until export() asks (a node, until a capture)
        self.configure(cfg, n, rate_hz, impl)

    def export(self, axes):
        """Keep the compact spectrum (spectrum_u16) of `axes` (indices) from the next compute() on,
        and of no other axis: a node keeps them only while a spectrum capture is pending
        (3 x 512 bytes at the default 256 bins)."""
        sx = self.sx
        for a in range(self.axes):
            if a not in axes:
                sx[a] = None
            elif sx[a] is None:
                sx[a] = array.array("H", range(self.sx_n))  # (filled by the next compute)

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
            _drop("setup", "bearing")
            gc.collect()  # the setup code and its garbage leave one free run for what follows

    # ---- one window, one axis: integers only ---------------------------------------------------
    def compute(self, axis, x, scale_g, clip_lo=-32768, clip_hi=32767):
        n = self.n
        if len(x) < n and x is not self.upper:
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
        k.wsum(p, vb[0], vb[1], self.vs[axis])
        # compact spectrum export (peak-hold over groups of bins)
        sx = self.sx[axis]
        if sx is not None:
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

    # ---- results (floating point, allocates; once per window): features/result.py ---------------
    def result(self, axis):
        """The compact per-axis telemetry dict (3 significant digits)."""
        return _result().result(self, axis)

    def amp_scale(self, axis):
        """g per unit of sqrt(p) in single-sided amplitude (Hann coherent gain corrected)."""
        return 4.0 / self.n * (2.0 ** self.ex[axis][_EA]) * self.scale[axis]

    def peaks(self, axis):
        """[(frequency Hz, amplitude g)] of the top-K spectral peaks, strongest first."""
        out = []
        sc = self.amp_scale(axis)
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
                if d > 0.5:
                    d = 0.5
                elif d < -0.5:
                    d = -0.5
            corr = 1.0
            if d:
                x = math.pi * d
                corr = x * (1 - d * d) / math.sin(x)
            out.append(((j + d) * self.df, a * corr * sc))
        return out

    def bands_rms(self, axis):
        return _result().bands_rms(self, axis)

    def hf_rms(self, axis):
        return _result().hf_rms(self, axis)

    def velocity_rms(self, axis):
        """mm/s RMS over the velocity band."""
        vs = self.vs[axis]  # (indexed: unpacking an array allocates an iterator)
        v = (vs[0] * 65536.0 + vs[1] + vs[2] / 256.0) / (2 * math.pi * self.df) ** 2  # sum p_k / f_k**2
        return math.sqrt(K163 * v) / self.n * (2.0 ** self.ex[axis][_EA]) * self.scale[axis] * velocity.G_MM_S2

    def shaft_hz(self, axis):
        return self.ex[axis][_F1] / 64.0 * self.df

    def work(self):
        """The engine's work buffers (work_buffers() order), for an engine made again on them,
        and as 4th item the table hann_load takes: the twiddles themselves (the Hann window is
        derived from them)."""
        return self.buf, self.p, self.tw, self.tw

    # ---- on request (features/detail.py, loaded for the call and dropped after) ----------------
    def time_domain(self, axis):
        """{mean, rms, peak, p2p, crest, skew, kurt, clipped} in g."""
        try:  # (the import inside: a load that failed part-way is dropped too)
            from features import detail
            return detail.time_domain(self, axis)
        finally:
            _drop("detail")

    def envelope(self, axis):
        """{"lines": {defect: [g at 1x, 2x, ...]}, "ratio": {defect: fundamental / background},
        "dom": strongest defect or None, "alarm": bool, "bg": g} or None without envelope config."""
        try:  # (the import inside: a load that failed part-way is dropped too)
            from features import detail
            return detail.envelope(self, axis)
        finally:
            _drop("detail")

    def spectrum_u16(self, axis):
        """(array('H') amplitudes, bin spacing Hz, g per unit): peak-hold over groups of bins;
        bin i covers i*df .. (i+1)*df."""
        try:  # (the import inside: a load that failed part-way is dropped too)
            from features import detail
            return detail.spectrum_u16(self, axis)
        finally:
            _drop("detail")


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
