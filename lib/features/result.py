# Per-axis results in floating point from the feature engine's integer state (once per window;
# allocates its floats and the telemetry dict only): result() builds the compact telemetry dict
# (3 significant digits), the other functions are the engine's float helpers (FeatureEngine's
# methods of the same names call them); amp_scale, peaks and velocity_rms are the engine's own
# (a wide-band node's velocity engine needs only those: it never loads this module).
import io
import math

from features import velocity

from features.engine import K163 as _K163, const

# per-axis integer slots: engine.py's layout (FeatureEngine.td, .ex), as const() here too so that
# they compile inline (tests/test_features_config.py checks that the numbers agree)
_S = const(0)
_LO = const(1)
_HI = const(2)
_HH = const(3)
_HL = const(4)
_LL = const(5)
_MEAN = const(6)
_CLIP = const(8)
_M34 = const(9)  # 13 values: sum q, then (hi, lo) of q2, q3a, q3b, q4a, q4b, q4c
_EA = const(0)
_EE = const(1)
_F1 = const(2)
_ENV_OK = const(3)
_PSH = const(4)

_FMT = ("%.1g", "%.2g", "%.3g", "%.4g", "%.5g")
_OUT = io.StringIO(" " * 32)  # a float's repr is printed here to be measured (no string kept)


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


def td_stats(e, axis):
    """(mean, rms, peak, p2p, crest, skew, kurt) in g (skew, kurt: Pearson)."""
    td = e.td[axis]
    n = e.n
    g = e.scale[axis]
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
    return (td[_S] / n * g, rms, pk, (td[_HI] - td[_LO]) * g, pk / rms if rms > 0 else 0.0, skew, kurt)


def band_rms(e, axis, h, l, cnt):
    v = float((h << 16) + l)  # = h * 65536.0 + l exactly (band energy < 2**43), one float
    if e.ex[axis][_PSH]:
        # components rounded to integers before squaring add 2/12 per bin on average
        v = max(0.0, v - cnt / 6.0)
    return math.sqrt(_K163 * v) / e.n * (2.0 ** e.ex[axis][_EA]) * e.scale[axis]


def bands_rms(e, axis):
    bs = e.bs[axis]
    bb = e.band_bins
    return [band_rms(e, axis, bs[2 * i], bs[2 * i + 1], bb[i][1] - bb[i][0]) for i in range(len(bb))]


def hf_rms(e, axis):
    if not e.hf_bins:
        return None
    i = 2 * len(e.band_bins)
    return band_rms(e, axis, e.bs[axis][i], e.bs[axis][i + 1], e.hf_bins[1] - e.hf_bins[0])


def env_scale(e, axis):
    """g per unit of sqrt(p) of the envelope spectrum."""
    return 4.0 / e.env[2] * 2.0 / e.n * (2.0 ** e.ex[axis][_EE]) * e.scale[axis]


def env_dom(e, axis):
    """(strongest defect or None, its fundamental / background, its fundamental in g) as in
    FeatureEngine.envelope(), without the full line table; None without envelope config."""
    if e.env is None or not e.env_names:
        return None
    ex = e.ex[axis]
    if not ex[_ENV_OK] or not ex[_F1]:
        return None, 0.0, 0.0
    ev = e.ev[axis]
    j = len(e.env_mq8)
    cnt = ev[j + 2]
    if cnt <= 0:
        return None, 0.0, 0.0
    bg2 = (ev[j] * 65536.0 + ev[j + 1]) / cnt
    if bg2 <= 0:
        return None, 0.0, 0.0
    best = 0
    dom = None
    for i in range(len(e.env_names)):
        v = ev[i * e.env_h]
        if v > best:  # ratios share the background: the largest line wins (ties: first)
            best = v
            dom = e.env_names[i]
    if dom is None:
        return None, 0.0, 0.0
    return dom, math.sqrt(best / bg2), math.sqrt(best) * env_scale(e, axis)


def result(e, axis):
    """The compact per-axis telemetry dict (3 significant digits). Built as one dict of its
    final size (each later key would regrow its table: a fresh block in a full heap); the time
    domain comes as one tuple and the peaks go straight into their pairs."""
    mean, rms, pk, p2p, cf, sk, ku = td_stats(e, axis)
    v = e.velocity_rms(axis)
    hf = hf_rms(e, axis)
    dom = env_dom(e, axis)
    r = {"mean": _sig(mean), "rms": _sig(rms, 4), "pk": _sig(pk), "p2p": _sig(p2p),
         "cf": _sig(cf), "sk": _sig(sk), "ku": _sig(ku), "clipped": True,
         "f0": 0.0, "pks": [[_sig(f, 4), _sig(a)] for f, a in e.peaks(axis)],
         "bands": [_sig(b) for b in bands_rms(e, axis)] if e.band_bins else None,
         "hf": _sig(hf) if hf is not None else None, "vel": _sig(v), "iso": velocity.zone(v, e.iso),
         "f1": None, "env": None}
    mean = rms = pk = p2p = cf = sk = ku = None
    if r["pks"]:
        r["f0"] = r["pks"][0][0]  # _sig(pks[0][0], 4), the same number
    if not e.td[axis][_CLIP]:
        del r["clipped"]
    if not e.band_bins:
        del r["bands"]
    if hf is None:
        del r["hf"]
    if dom is not None and e.rpm_auto:
        r["f1"] = _sig(e.ex[axis][_F1] / 64.0 * e.df, 4)
    else:
        del r["f1"]
    if dom is not None:
        d, ratio, amp = dom
        x = {"dom": d, "r": _sig(ratio) if d else 0.0, "a": _sig(amp) if d else 0.0}
        if d and ratio >= e.env_alarm:
            x["alarm"] = True
        r["env"] = x
    else:
        del r["env"]
    return r
