# Per-axis detail on request (captures, status, tests): all bearing-defect lines, the spectrum
# export, the time-domain statistics as a dict. FeatureEngine's methods of the same names import
# this module for the call and drop it after: its code is not resident while the node measures.
import math

from features import result as _r
from features.engine import const

_CLIP = const(8)  # engine.py's slots
_F1 = const(2)
_ENV_OK = const(3)


def time_domain(e, axis):
    mean, rms, pk, p2p, cf, sk, ku = _r.td_stats(e, axis)
    return {"mean": mean, "rms": rms, "peak": pk, "p2p": p2p, "crest": cf, "skew": sk, "kurt": ku,
            "clipped": bool(e.td[axis][_CLIP])}


def envelope(e, axis):
    """{"lines": {defect: [g at 1x, 2x, ...]}, "ratio": {defect: fundamental / background},
    "dom": strongest defect or None, "alarm": bool, "bg": background g} or None without
    envelope config."""
    if e.env is None or not e.env_names:
        return None
    ex = e.ex[axis]
    lines = {}
    ratio = {}
    if not ex[_ENV_OK] or not ex[_F1]:
        for d in e.env_names:
            lines[d] = [0.0] * e.env_h
            ratio[d] = 0.0
        return {"lines": lines, "ratio": ratio, "dom": None, "alarm": False, "bg": 0.0}
    sc = _r.env_scale(e, axis)
    ev = e.ev[axis]
    j = len(e.env_mq8)
    cnt = ev[j + 2]
    bg = math.sqrt((ev[j] * 65536.0 + ev[j + 1]) / cnt) * sc if cnt > 0 else 0.0
    i = 0
    dom = None
    best = 0.0
    for d in e.env_names:
        amps = []
        for h in range(e.env_h):
            amps.append(math.sqrt(ev[i]) * sc)
            i += 1
        lines[d] = amps
        ratio[d] = amps[0] / bg if bg > 0 else 0.0
        if ratio[d] > best:
            best = ratio[d]
            dom = d
    return {"lines": lines, "ratio": ratio, "dom": dom, "alarm": best >= e.env_alarm, "bg": bg}


def spectrum_u16(e, axis):
    """(array('H') amplitudes, bin spacing Hz, g per unit): peak-hold over groups of bins;
    bin i covers i*df .. (i+1)*df. ValueError when the engine keeps none for the axis (export())."""
    if e.sx[axis] is None:
        raise ValueError("no spectrum kept for axis %d (asked for after its window)" % axis)
    return e.sx[axis], e.df * e.sx_grp, e.amp_scale(axis)
