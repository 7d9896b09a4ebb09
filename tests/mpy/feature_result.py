# FeatureEngine.result() against a plain float recomputation from the engine's integer state, and
# its allocation per axis (tests/test_features_result.py).
import array
import gc
import json
import math

from features.engine import FeatureEngine
from features import velocity

_FMT = ("%.1g", "%.2g", "%.3g", "%.4g", "%.5g")


def sig(x, d=3):
    if x == 0 or x != x:
        return 0.0
    best = float(_FMT[d - 1] % x)
    if len(repr(best)) <= d + 7:
        return best
    v = float(_FMT[d] % x)
    if len(repr(v)) <= d + 8:
        return v
    dd = d - 1 if d > 2 else d + 2
    v = float(_FMT[dd - 1] % x)
    if len(repr(v)) <= dd + 7:
        return v
    return best

# integer slots (engine.py): td per axis, ex per axis
S, LO, HI, HH, HL, LL, MEAN, SH34, CLIP, M34 = 0, 1, 2, 3, 4, 5, 6, 7, 8, 9
EA, EE, F1, ENV_OK, PSH = 0, 1, 2, 3, 4


def ref_td(e, a):
    td = e.td[a]
    n = e.n
    g = e.scale[a]
    mean = td[MEAN]
    ss = td[HH] * 65536.0 + td[HL] * 512.0 + td[LL]
    rms = math.sqrt(ss / n) * g
    pk = max(td[HI] - mean, mean - td[LO]) * g
    q = [td[M34 + 1 + 2 * i] * 65536.0 + td[M34 + 2 + 2 * i] for i in range(6)]
    s2 = q[0]
    s3 = q[1] * 1024.0 + q[2]
    s4 = q[3] * 1048576.0 + q[4] * 2048.0 + q[5]
    mu = td[M34] / n
    m2 = s2 / n - mu * mu
    m3 = s3 / n - 3 * mu * s2 / n + 2 * mu ** 3
    m4 = s4 / n - 4 * mu * s3 / n + 6 * mu * mu * s2 / n - 3 * mu ** 4
    skew = m3 / m2 ** 1.5 if m2 > 0 else 0.0
    kurt = m4 / (m2 * m2) if m2 > 0 else 0.0
    return {"mean": td[S] / n * g, "rms": rms, "peak": pk, "p2p": (td[HI] - td[LO]) * g,
             "crest": pk / rms if rms > 0 else 0.0, "skew": skew, "kurt": kurt, "clipped": bool(td[CLIP])}


def ref_peaks(e, a):
    out = []
    sc = 4.0 / e.n * (2.0 ** e.ex[a][EA]) * e.scale[a]
    pk = e.pk[a]
    for i in range(e.K):
        j = pk[4 * i]
        if not j:
            break
        al, am, ar = math.sqrt(pk[4 * i + 1]), math.sqrt(pk[4 * i + 2]), math.sqrt(pk[4 * i + 3])
        d = 0.0
        if am > 0:
            if ar >= al:
                d = (2 * ar - am) / (ar + am)
            else:
                d = -(2 * al - am) / (al + am)
            d = max(-0.5, min(0.5, d))
        corr = 1.0
        if d:
            x = math.pi * d
            corr = x * (1 - d * d) / math.sin(x)
        out.append(((j + d) * e.df, am * corr * sc))
    return out


def ref_band(e, a, h, l, cnt):
    v = h * 65536.0 + l
    if e.ex[a][PSH]:
        v = max(0.0, v - cnt / 6.0)
    return math.sqrt(16.0 / 3.0 * v) / e.n * (2.0 ** e.ex[a][EA]) * e.scale[a]


def ref_bands(e, a):
    bs = e.bs[a]
    bb = e.band_bins
    return [ref_band(e, a, bs[2 * i], bs[2 * i + 1], bb[i][1] - bb[i][0]) for i in range(len(bb))]


def ref_hf(e, a):
    if not e.hf_bins:
        return None
    i = 2 * len(e.band_bins)
    return ref_band(e, a, e.bs[a][i], e.bs[a][i + 1], e.hf_bins[1] - e.hf_bins[0])


def ref_vel(e, a):
    v0, v1, v2 = list(e.vs[a])
    en = (v0 * 65536.0 + v1 + v2 / 256.0) / (2 * math.pi * e.df) ** 2
    return math.sqrt(16.0 / 3.0 * en) / e.n * (2.0 ** e.ex[a][EA]) * e.scale[a] * velocity.G_MM_S2


def ref_dom(e, a):
    if e.env is None or not e.env_names:
        return None
    ex = e.ex[a]
    if not ex[ENV_OK] or not ex[F1]:
        return None, 0.0, 0.0
    ev = e.ev[a]
    j = len(e.env_mq8)
    cnt = ev[j + 2]
    if cnt <= 0:
        return None, 0.0, 0.0
    bg2 = (ev[j] * 65536.0 + ev[j + 1]) / cnt
    if bg2 <= 0:
        return None, 0.0, 0.0
    lines = [ev[i * e.env_h] for i in range(len(e.env_names))]
    best = max(lines)
    if best <= 0:
        return None, 0.0, 0.0
    dom = e.env_names[lines.index(best)]
    sc = 4.0 / e.env[2] * 2.0 / e.n * (2.0 ** ex[EE]) * e.scale[a]
    return dom, math.sqrt(best / bg2), math.sqrt(best) * sc


def ref_result(e, a):
    t = ref_td(e, a)
    pks = ref_peaks(e, a)
    v = ref_vel(e, a)
    hf = ref_hf(e, a)
    dom = ref_dom(e, a)
    # the same construction as the engine (one literal, then deletes): same dict, same key order
    r = {"mean": sig(t["mean"]), "rms": sig(t["rms"], 4), "pk": sig(t["peak"]), "p2p": sig(t["p2p"]),
         "cf": sig(t["crest"]), "sk": sig(t["skew"]), "ku": sig(t["kurt"]), "clipped": True,
         "f0": sig(pks[0][0], 4) if pks else 0.0, "pks": [[sig(f, 4), sig(x)] for f, x in pks],
         "bands": [sig(b) for b in ref_bands(e, a)] if e.band_bins else None,
         "hf": sig(hf) if hf is not None else None, "vel": sig(v), "iso": velocity.zone(v, e.iso),
         "f1": None, "env": None}
    if not t["clipped"]:
        del r["clipped"]
    if not e.band_bins:
        del r["bands"]
    if hf is None:
        del r["hf"]
    if dom is not None and e.rpm_auto:
        r["f1"] = sig(e.ex[a][F1] / 64.0 * e.df, 4)
    else:
        del r["f1"]
    if dom is not None:
        d, ratio, amp = dom
        x = {"dom": d, "r": sig(ratio) if d else 0.0, "a": sig(amp) if d else 0.0}
        if d and ratio >= e.env_alarm:
            x["alarm"] = True
        r["env"] = x
    else:
        del r["env"]
    return r

MULT = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}
CFGS = [
    (2048, 3200, {"bearing": {"multiples": MULT}, "rpm": "auto", "rpm_range": [600, 3600],
                  "envelope": {"band": [800, 1550]}, "top_k": 5}, None),
    (2048, 6400, {"rpm": 1796, "bands": [[5, 50], [50, 500], [500, 2000], [2000, 3000]], "hf_band": [1000, 3000],
                  "bearing": {"geometry": {"balls": 9, "ball_d": 7.94, "pitch_d": 39.04, "angle": 0}},
                  "velocity": {"band": [2, 1000], "group": 1, "foundation": "flexible"}, "top_k": 3}, None),
    (512, 1600, {}, None),
    (512, 1600, {"bearing": {"multiples": MULT}, "top_k": 4}, "python"),
]

seed = [12345]
def rnd(m):
    seed[0] = (seed[0] * 1103515245 + 12345) & 0x7FFFFFFF
    return (seed[0] >> 8) % m - m // 2


def window(kind, n, fs):
    x = array.array("h", bytes(2 * n))
    for i in range(n):
        if kind == 0:    # noise + two sines + periodic impacts
            v = rnd(1024) + int(900 * math.sin(2 * math.pi * 50.3 * i / fs)) + int(300 * math.sin(2 * math.pi * 1234.5 * i / fs))
            if i % 97 == 0:
                v += 1500
        elif kind == 1:  # DC and a small sine
            v = 700 + int(40 * math.sin(2 * math.pi * 120 * i / fs))
        elif kind == 2:  # sparse impulses on small noise
            v = rnd(16) + (6000 if i % 211 == 5 else 0)
        elif kind == 3:  # clipped at +-4082 (a 2 g chip's saturation)
            v = int(6000 * math.sin(2 * math.pi * 30 * i / fs)) + rnd(200)
            v = max(-4082, min(4082, v))
        elif kind == 4:  # all zero
            v = 0
        else:            # full-scale broadband
            v = rnd(65535)
        x[i] = v
    return x


def result_exact(args):
    out = {"cases": 0, "diff": [], "alloc": None}
    for n, fs, cfg, impl in CFGS:
        e = FeatureEngine(n, fs, cfg, impl=impl)
        for kind in range(6):
            for a in range(3):
                x = window((kind + a) % 6, n, fs)
                scale = (0.0039, 0.000976, 0.0078)[a]
                e.compute(a, x, scale, -4082, 4082)
            for a in range(3):
                got = json.dumps(e.result(a))
                want = json.dumps(ref_result(e, a))
                out["cases"] += 1
                if got != want:
                    out["diff"].append([n, fs, kind, a, got, want])
                for name, g, w in (("td", e.time_domain(a), ref_td(e, a)), ("peaks", e.peaks(a), ref_peaks(e, a)),
                                   ("bands", e.bands_rms(a), ref_bands(e, a)), ("hf", e.hf_rms(a), ref_hf(e, a)),
                                   ("vel", e.velocity_rms(a), ref_vel(e, a))):
                    if repr(g) != repr(w):
                        out["diff"].append([n, fs, kind, a, name, repr(g), repr(w)])
        if out["alloc"] is None:  # the bench configuration: bytes allocated by result(), per axis
            for a in range(3):
                e.compute(a, window(0, n, fs), 0.0039, -4082, 4082)
            for a in range(3):
                e.result(a)
            gc.collect()
            gc.disable()
            m0 = gc.mem_alloc()
            for a in range(3):
                e.result(a)
            out["alloc"] = (gc.mem_alloc() - m0) // 3
            gc.enable()
        e = None
        gc.collect()
    return out


if __name__ == "__main__":
    from harness import main
    main(globals())
