# The feature engine on MicroPython (tests/test_features_*.py, tests/featurelib.py): jobs of windows
# from files, viper kernels against their plain-Python twins, allocation, CWRU envelopes, errors,
# and the host board's replay resampler.
import array
import gc
import json
import math
import random

import micropython
from features import envelope, fft, reference, spectrum
from features.engine import FeatureEngine


def engine_jobs(args):
    jobs = json.load(open(args["jobs"]))
    out = []
    for j in jobs:
        try:
            e = FeatureEngine(j["n"], j["fs"], j.get("cfg") or {}, impl=j.get("impl"))
        except ValueError as ex:
            out.append({"error": str(ex)})
            continue
        n = j["n"]
        x = array.array("h", bytes(2 * n))
        with open(j["file"], "rb") as f:
            f.readinto(x)
        lo, hi = j.get("clip", [-32768, 32767])
        e.compute(0, x, j["scale"], lo, hi)
        r = {"impl": e.impl, "td": e.time_domain(0), "peaks": e.peaks(0), "bands": e.bands_rms(0), "hf": e.hf_rms(0),
             "vel": e.velocity_rms(0), "res": e.result(0), "env": e.envelope(0), "shaft": e.shaft_hz(0)}
        if j.get("want_p"):
            # the amplitude spectrum in g (before any envelope stage reuses the power buffer)
            e2 = FeatureEngine(n, j["fs"], {}, impl=j.get("impl"))
            e2.compute(0, x, j["scale"], lo, hi)
            sc = e2.amp_scale(0)
            r["amp"] = [v ** 0.5 * sc for v in e2.p]
            bins, df, scale = e2.spectrum_u16(0)
            r["u16"] = [list(bins), df, scale]
        out.append(r)
    return out


def viper_vs_reference(args):
    jobs = json.load(open(args["jobs"]))
    diffs = []
    for j in jobs:
        n = j["n"]
        cfg = j["cfg"]
        ev = FeatureEngine(n, j["fs"], cfg)
        ep = FeatureEngine(n, j["fs"], cfg, impl="python")
        assert ev.impl == "viper" and ep.impl == "python"
        x = array.array("h", bytes(2 * n))
        with open(j["file"], "rb") as f:
            f.readinto(x)
        for e in (ev, ep):
            e.compute(1, x, 0.001, -4000, 4000)
        for name in ("td", "ex", "pk", "bs", "vs", "sx", "ev"):
            a = getattr(ev, name, None)
            if a is None:
                continue
            if list(a[1]) != list(getattr(ep, name)[1]):
                diffs.append([j["name"], name])
        if list(ev.p) != list(ep.p) or list(ev.buf) != list(ep.buf):
            diffs.append([j["name"], "p/buf"])
        if json.dumps(ev.result(1)) != json.dumps(ep.result(1)):
            diffs.append([j["name"], "result"])
    # isqrt on edge values
    bad = [v for v in (0, 1, 2, 3, 4, 15, 16, 17, 65535, 65536, 2147483647 - 65536, 2147352578, 2147483646)
           if spectrum.isqrt(v) != reference.isqrt(v) or spectrum.isqrt(v) ** 2 > v or (spectrum.isqrt(v) + 1) ** 2 <= v]
    return {"diffs": diffs, "isqrt_bad": bad}


def compute_alloc(args):
    N = 2048
    cfg = {"bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}},
           "rpm": "auto", "envelope": {"band": [800, 1500]}, "top_k": 5}
    e = FeatureEngine(N, 3200, cfg)
    xs = [array.array("h", bytes(2 * N)) for _ in range(3)]
    seed = 12345
    for a in range(3):
        for i in range(N):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            xs[a][i] = ((seed >> 8) & 0xFFF) - 2048 + (3000 if i % 89 == 0 else 0)
    def window():
        for a in range(3):
            e.compute(a, xs[a], 0.0039, -4082, 4082)
    window()  # warm-up
    gc.collect()
    m0 = gc.mem_alloc()
    window()
    grew = gc.mem_alloc() - m0
    state = "alloc"
    gc.collect()
    micropython.heap_lock()
    try:
        window()
        window()
        micropython.heap_unlock()
        state = "ok"
    except MemoryError:
        micropython.heap_unlock()
    return {"grew": grew, "locked": state, "impl": e.impl}


def cwru_envelope(args):
    N = 4096
    mult = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}
    e = FeatureEngine(N, 12000, {"bearing": {"multiples": mult}, "rpm": 1796, "envelope": {"band": [2000, 5000]}})
    out = {}
    x = array.array("h", bytes(2 * N))
    for name in args["files"]:
        f = open(name, "rb")
        f.read(128)  # .npy header (format 1.0, 128 bytes for these files)
        res = []
        for w in range(5):
            f.readinto(x)
            e.compute(0, x, 0.0005)
            env = e.envelope(0)
            res.append([env["dom"], env["ratio"][env["dom"]] if env["dom"] else 0, env["alarm"]])
        out[name[-18:]] = res
    return out


def fft_isqrt_kernels(args):
    random.seed(11)
    B = 0x20000000
    diffs = []
    # cfft: every size the engine can use (m = 2..2048), measured and given input bounds
    for lg in range(1, 12):
        m = 1 << lg
        for tstride in (1, 2):
            n = m * tstride
            tw = array.array("i", [0] * (n // 4 + 1))
            for k in range(n // 4 + 1):
                tw[k] = int(round(65536 * math.cos(2 * math.pi * k / n)))
            for amp, mx in ((1 << 22, (1 << 22)), (3000, -1), (1, -1)):
                vals = [random.randint(-amp, amp - 1) + B for _ in range(2 * m)]
                a = array.array("i", vals)
                b = array.array("i", vals)
                sa = array.array("i", [0, 0])
                sb = array.array("i", [0, 0])
                fft.cfft(a, m, tw, tstride, mx, sa)
                reference.cfft(b, m, tw, tstride, mx, sb)
                if list(a) != list(b) or list(sa) != list(sb):
                    diffs.append(["cfft", m, tstride, amp])
    # env_mag: floor(sqrt(re**2 + im**2)) on edge and random components
    pairs = [(x, y) for x in (0, 1, -1, 2, 181, -182, 23170, 23171, 32767, -32767) for y in (0, 1, -2, 3, 32767, -32767, 46)]
    pairs += [(random.randint(-32767, 32767), random.randint(-32767, 32767)) for _ in range(3000)]
    pairs += [(random.randint(-40, 40), random.randint(-40, 40)) for _ in range(1000)]
    a = array.array("i", [0] * (2 * len(pairs)))
    for i, (x, y) in enumerate(pairs):
        a[2 * i] = x + B
        a[2 * i + 1] = y + B
    b = array.array("i", a)
    oa = array.array("i", [0, 0])
    ob = array.array("i", [0, 0])
    envelope.env_mag(a, len(pairs), 0, oa)
    reference.env_mag(b, len(pairs), 0, ob)
    if list(a[:len(pairs)]) != list(b[:len(pairs)]) or list(oa) != list(ob):
        diffs.append(["env_mag"])
    # export_u16: isqrt of group maxima over the whole int32 range
    vals = list(range(300)) + [2147483647, 2147395600, 2147395599, 2147302921, 65535, 65536, 65537]
    vals += [random.getrandbits(31) for _ in range(3000)] + [random.getrandbits(random.randint(1, 31)) for _ in range(3000)]
    p = array.array("i", vals)
    oa = array.array("H", [0] * len(vals))
    ob = array.array("H", [0] * len(vals))
    spectrum.export_u16(p, 0, len(vals), 1, oa)
    reference.export_u16(p, 0, len(vals), 1, ob)
    if list(oa) != list(ob):
        diffs.append(["export_u16"])
    # power: into its own array, and in place (p = memoryview(buf)[:m + 1], the wide-band node's
    # velocity engine), viper and twin alike: the same bins, the Nyquist bin included
    for m in (4, 64, 1024):
        vals = [random.randint(-(1 << 20), 1 << 20) + B for _ in range(2 * m)]
        for kern in (spectrum, reference):
            sep = array.array("i", [0] * (m + 1))
            kern.power(array.array("i", vals), m, 3, sep)
            buf = array.array("i", vals)
            kern.power(buf, m, 3, memoryview(buf)[:m + 1])
            if list(buf[:m + 1]) != list(sep) or sep[m] == 0:
                diffs.append(["power in place", m, "viper" if kern is spectrum else "twin"])
    return diffs


def short_window_and_bad_band(args):
    out = {}
    e = FeatureEngine(256, 3200)
    try:
        e.compute(0, array.array("h", bytes(200)), 0.001)
        out["short"] = "no error"
    except ValueError as ex:
        out["short"] = str(ex)
    try:
        FeatureEngine(256, 3200, {"velocity": {"group": 3}})
        out["iso"] = "no error"
    except ValueError as ex:
        out["iso"] = str(ex)
    return out


def resampler(args):
    """the host board's replay resampler: 3000 samples at 3200 Hz, then 1000 more with the heap locked,
    then a restart from 0"""
    from recording import Recording
    r = Recording({"path": args["path"], "rate_hz": 12000, "scale_g": 0.0005, "loop": False})
    out = array.array("i", [0, 0, 0])
    xs = array.array("i", bytes(4 * 3000))
    for k in range(3000):
        r.sample(k, 3200000, out)
        xs[k] = out[0]

    # steady state: no heap allocation per sample (refills read into preallocated buffers)
    def steady():
        for k in range(3000, 4000):
            r.sample(k, 3200000, out)
    locked = "alloc"
    gc.collect()
    micropython.heap_lock()
    try:
        steady()
        micropython.heap_unlock()
        locked = "ok"
    except MemoryError:
        micropython.heap_unlock()
    # restart from 0 (a chip restarting its counter) reproduces the stream
    r.sample(0, 3200000, out)
    return {"locked": locked, "same": out[0] == xs[0], "x": list(xs)}


if __name__ == "__main__":
    from harness import main
    main(globals())
