# Feature-engine setup: buffers, tables and configuration (allocates; runs once per engine or
# configuration). engine.FeatureEngine imports this module for the call and drops it after, so
# its bytecode (and bearing.py's) does not occupy the node's RAM while it measures.
import array
import math

from features import bearing, velocity


_NAMES = ("moments", "moments34", "hann_load", "cfft", "rsplit", "absmax", "isqrt", "power",
          "peaks", "band_sum", "wsum", "range_max", "export_u16", "band_copy", "env_mag", "env_prep")


class _Kernels:
    pass


def kernels(impl, mods):
    """The kernel set: viper (compiled) unless impl == "python" or the compiled set is unusable."""
    k = _Kernels()
    if impl == "python" or mods is None:
        from features import reference
        mods = (reference,)
        k.impl = "python"
    else:
        k.impl = "viper"
    for name in _NAMES:
        for m in mods:
            if hasattr(m, name):
                setattr(k, name, getattr(m, name))
                break
    return k


def twiddles(t, n):
    """Fill t (array('i') of n/4+1) with the quarter-wave cosine table round(2**16 cos(2 pi k / n))."""
    for k in range(n // 4 + 1):
        t[k] = int(round(65536 * math.cos(2 * math.pi * k / n)))
    return t


def _zeros(tc, n):
    """A zeroed array of n items without a temporary of the same size (no bytes(n) copy)."""
    a = array.array(tc, range(n))
    for i in range(n):
        a[i] = 0
    return a


def work_buffers(n, power=True, have=None):
    """The engine's large buffers for an n-sample window (FFT data, power spectrum, twiddles:
    7 n bytes; the Hann window is derived from the twiddles), largest first and without
    same-size temporaries, for a node that allocates them early, while its heap is in one
    piece: FeatureEngine(work=...). power=False: the power spectrum is computed in place, in
    the FFT data (5 n bytes): only for an engine without envelope (whose band is taken from the
    FFT data after the power spectrum), as the wide-band node's velocity engine. have: buffers
    made before (work_buffers(n) or an engine's work()): their FFT data and table are reused."""
    if _fits(have, n):
        return (have[0], memoryview(have[0])[:n // 2 + 1] if not power else have[1], have[2])
    out = []
    for k in (n, n // 2 + 1, n // 4 + 1):
        out.append(memoryview(out[0])[:k] if not power and k == n // 2 + 1 else _zeros("i", k))
    return out


def upper(e):
    """e.upper: the upper half of engine e's FFT buffer as room for one window of n int16 samples
    (in the bytes of n/2 int32: filled by viper kernels, ptr16), for e.compute(axis, e.upper): the
    samples are read before the FFT overwrites them (fft.hann_load runs in order of i). Free
    between computes only. None with the plain-Python twins (they index x as int16)."""
    if e.impl == "viper" and e.upper is None:
        e.upper = memoryview(e.buf)[e.n // 2:]
    return e.upper


def _fits(work, n):
    # (buf, p, tw) of work_buffers(n), or engine.work()'s 4 (the 4th is tw again)
    if not work or len(work) < 3:
        return False
    return len(work[0]) == n and len(work[1]) == n // 2 + 1 and len(work[2]) == n // 4 + 1


def init(self, n, rate_hz, impl, mods, tdlen, work=None):
    if not isinstance(n, int) or n < 64 or n > 4096 or n & (n - 1):
        raise ValueError("features: window length must be a power of two from 64 to 4096, got %r" % (n,))
    if not rate_hz or rate_hz <= 0:
        raise ValueError("features: sample rate must be positive, got %r" % (rate_hz,))
    self.n = n
    self.m = n // 2
    self.rate_hz = rate_hz
    self.df = float(rate_hz) / n
    self.k = kernels(impl, mods)
    self.impl = self.k.impl
    if not _fits(work, n):  # (engine.work_buffers(n): allocated early by the node)
        work = (_zeros("i", n), _zeros("i", self.m + 1), _zeros("i", n // 4 + 1))
    self.buf, self.p = work[0], work[1]  # largest first
    self.upper = None  # a view of buf's upper half, for a window kept there (upper(), below)
    self.tw = twiddles(work[2], n)
    self.st = array.array("i", [0, 0])
    self.o = array.array("i", [0, 0, 0, 0])
    self.m34 = _zeros("i", 16)
    self.td = [_zeros("i", tdlen) for _ in range(self.axes)]
    self.ex = [array.array("i", [0, 0, 0, 0, 0]) for _ in range(self.axes)]
    self.scale = [0.0] * self.axes

def _bins(self, band, incl_hi=False):
    lo, hi = float(band[0]), float(band[1])
    if hi <= lo:
        raise ValueError("features: band %r must have lo < hi" % (band,))
    k0 = int(math.ceil(lo / self.df - 1e-9))
    k1 = int(math.floor(hi / self.df + 1e-9)) + 1 if incl_hi else int(math.ceil(hi / self.df - 1e-9))
    k0 = max(1, min(k0, self.m))
    k1 = max(k0, min(k1, self.m))
    return k0, k1

def configure(self, cfg):
    self.cfg = cfg
    m = self.m
    nyq = self.rate_hz / 2.0
    # the section's keys are typed and range-checked by the node's config validator (one table:
    # firmware/vibenode/cfgspec.py "features"); what depends on rate and window is checked here
    self.K = int(cfg.get("top_k", 3))
    self.pk = [_zeros("i", 4 * self.K) for _ in range(self.axes)]  # idx, p[k-1], p[k], p[k+1]
    self.pidx = _zeros("i", self.K)
    self.pval = _zeros("i", self.K)
    bands = cfg.get("bands")
    if bands is None:
        bands = [b for b in ([2, 10], [10, 100], [100, 1000]) if b[0] < nyq]
    self.band_bins = [_bins(self, b) for b in bands]
    self.bands = bands
    hf = cfg.get("hf_band", [1000, 5000])
    self.hf_bins = _bins(self, hf) if hf and hf[0] < nyq else None
    self.bs = [_zeros("i", 2 * (len(bands) + 1)) for _ in range(self.axes)]
    # velocity
    vc = cfg.get("velocity") or {}
    vb = vc.get("band", [10, 1000])
    self.vel_bins = _bins(self, vb, incl_hi=True)
    self.iso = velocity.limits(vc.get("group", 2), vc.get("foundation", "rigid"))
    self.vs = [_zeros("i", 3) for _ in range(self.axes)]
    # shaft speed: fixed rpm, or "auto" = strongest line in rpm_range (measured 1x)
    rpm = cfg.get("rpm")
    if not rpm and cfg.get("bearing"):
        rpm = "auto"  # defect lines need a shaft speed: measure the 1x line
    self.rpm_auto = rpm == "auto"
    self.f1_b64 = 0
    if self.rpm_auto:
        rr = cfg.get("rpm_range", [600, 3600])
        self.rpm_bins = _bins(self, [rr[0] / 60.0, rr[1] / 60.0], incl_hi=True)
    elif rpm:
        self.f1_b64 = int(float(rpm) / 60.0 / self.df * 64 + 0.5)
    # envelope / bearing defects
    self.mult = bearing.multiples(cfg.get("bearing"))
    ec = cfg.get("envelope")
    self.env = None
    self.env_hz = None
    if ec is not None or self.mult:
        if not hasattr(self.k, "env_mag"):  # (viper: only an engine with an envelope loads its kernels)
            from features import envelope
            for name in ("band_copy", "env_mag", "env_prep"):
                setattr(self.k, name, getattr(envelope, name))
        ec = ec or {}
        band = ec.get("band", [nyq * 0.3, nyq * 0.95])
        k0, k1 = _bins(self, [band[0], min(band[1], nyq * 0.999)])
        if k1 - k0 < 4:
            raise ValueError("features.envelope.band %r: too narrow for %d Hz / %d" % (band, self.rate_hz, self.n))
        mm = 4
        while mm < 2 * (k1 - k0):
            mm <<= 1
        if mm > m:
            mm = m
            if k1 > k0 + mm:
                k1 = k0 + mm
        self.env = (k0, k1, mm)
        self.env_hz = [int(k0 * self.df), int(k1 * self.df)]  # the band in use (status)
        self.env_h = int(ec.get("harmonics", 3))
        self.env_tol = float(ec.get("tol", 0.01))
        self.env_tol_q10 = int(self.env_tol * 1024 + 0.5)
        self.env_alarm = float(ec.get("alarm", 4.0))
        names = list(self.mult.keys()) if self.mult else []
        self.env_names = [d for d in bearing.DEFECTS if d in names]
        # multiples in Q8 (times each harmonic): the bin arithmetic stays below 2**30
        self.env_mq8 = array.array("i", [int(self.mult[d] * h * 256 + 0.5) for d in self.env_names
                                        for h in range(1, self.env_h + 1)])
        self.ev = [_zeros("i", len(self.env_mq8) + 3) for _ in range(self.axes)]
    ex = cfg.get("export") or {}
    nb = int(ex.get("bins", 256))
    grp = 1
    while m // grp > nb:
        grp <<= 1
    self.sx_grp = grp
    self.sx_n = m // grp
    self.sx = [_zeros("H", self.sx_n) if self._spectra else None for _ in range(self.axes)]

