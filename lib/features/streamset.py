# features/stream.py's construction and band changes (StreamFeatures(...), set_band): buffers, the
# band-pass filters' design and the velocity engine. stream._setup() imports this module for the call
# and drops it after, so its code is not in the heap while the node measures.
import array
import math

from features import bearing
from features.engine import FeatureEngine

_DEC = 16  # (features/stream.py's decimation)


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


def _zeros(tc, n):
    a = array.array(tc, range(n))
    for i in range(n):
        a[i] = 0
    return a


def band(f, lo, hi):
    """f's envelope band-pass lo..hi Hz (clamped below 0.45 x the rate)."""
    f.band = _clamp_band((lo, hi), f.rate_hz)
    f.env_hz = [int(f.band[0]), int(f.band[1])]
    c = _bp(f.band[0], f.band[1], f.rate_hz)
    for i in range(10):
        f.c[i] = c[i]


def _buf(bufs, i, n):
    """bufs[i] if it is an int16 array of n (zeroed by its maker), else a new one."""
    b = bufs[i] if bufs and i < len(bufs) else None
    if b is not None and len(b) == n:
        return b
    return _zeros("h", n)


def init(self, rate_hz, scale_g, cfg, axes, fcfg, work, bufs):
    n = cfg.get("n", 2048)
    if not isinstance(n, int) or n < 256 or n > 4096 or n & (n - 1):
        raise ValueError("features.stream.n: a power of two from 256 to 4096")
    self.auto = cfg.get("band") == "auto"
    for key in ("band", "hf_band"):
        b = cfg.get(key)
        if b is not None and not (key == "band" and self.auto) and \
                not (isinstance(b, (list, tuple)) and len(b) == 2 and 0 < b[0] < b[1] <= 100000):
            raise ValueError("features.stream.%s: [lo, hi] Hz with 0 < lo < hi, or \"auto\"" % key)
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
    band(self, *((2000, 6000) if self.auto else cfg.get("band", (2000, 6000))))
    c = _bp(self.hf_band[0], self.hf_band[1], rate_hz)
    for i in range(10):
        self.c[10 + i] = c[i]
    self.s16 = [array.array("h", bytes(20)) for _ in range(axes)]
    self.s32 = [array.array("i", bytes(96)) for _ in range(axes)]
    self.sx = None  # the 256-bin envelope spectrum export (one axis at a time), made on request
    self.sx_grp = (n // 2) // 256
    self.mult = bearing.multiples(fcfg.get("bearing"))
    self.names = [d for d in bearing.DEFECTS if self.mult and d in self.mult]
    self.harm = int(cfg.get("harmonics", 3))
    self.tol = float(cfg.get("tol", 0.01))
    self.alarm = float(cfg.get("alarm", 4.0))
    rpm = fcfg.get("rpm") or ("auto" if self.mult else None)
    # the velocity (and shaft speed) engine at the decimated rate; its spectrum export is not used
    ecfg = {"top_k": 1, "bands": [], "hf_band": None, "velocity": fcfg.get("velocity") or {},
            "export": {"bins": 16}}
    if rpm:
        ecfg["rpm"] = rpm
        if "rpm_range" in fcfg:
            ecfg["rpm_range"] = fcfg["rpm_range"]
    self.rpm_auto = rpm == "auto"
    self.f1_fixed = float(rpm) / 60.0 if rpm and rpm != "auto" else 0.0
    # work: FFT buffers made early (setup.work_buffers(n)), shared: their contents are scratch
    # between computes, the tables depend on n only
    # (its power spectrum in place, in the FFT data: this engine has no envelope; 4 KB at n = 2048)
    from features.setup import upper, work_buffers  # (here: an export or status request does not load it)
    work = work_buffers(n, power=False, have=work)
    self.eng = FeatureEngine(n, self.fs, cfg=ecfg, work=work, spectra=False, axes=axes)
    # (no same-size temporaries: a small heap stays in one piece) x's decimated raw stream goes into
    # the upper half of the engine's FFT buffer (idle while the stream runs; the velocity engine
    # reads it first thing at finish(): 4 KB less at n = 2048)
    self.env = [_buf(bufs, i, n) for i in range(axes)]
    up = upper(self.eng)
    self.vel = [up if i == 0 and up is not None else _buf(bufs, 3 + i, n) for i in range(axes)]
    self.o = array.array("i", [0, 0, 0, 0])
    self.st = array.array("i", [0, 0])
    self.res = [None] * axes
    self.lines = [None] * axes
    self.ea = [0] * axes
    self._tuned = False


def spectrum_u16(f, ax):
    """StreamFeatures.spectrum_u16 (on request)."""
    f.spectrum_of(f.env[ax])
    e = f.eng
    if f.sx is None:
        f.sx = _zeros("H", 256)
    e.k.export_u16(e.p, 0, 256, f.sx_grp, f.sx)
    return f.sx, f.df * f.sx_grp, f.ea[ax]


def status(f, impl):
    """StreamFeatures.status (a status message)."""
    return {"band": [int(f.band[0]), int(f.band[1])], "auto": f.auto,
            "hf_band": [int(f.hf_band[0]), int(f.hf_band[1])],
            "fs_env": float("%.3g" % f.fs), "df": float("%.3g" % f.df), "impl": impl}
