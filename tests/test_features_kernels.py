"""The viper kernels against their plain-Python twins (features/reference.py), on the unix port,
bit for bit, over every kernel the engine runs (whole-engine state compared after compute on many
signals and window lengths), plus the engine's allocation-freedom (heap locked) and the CWRU
envelope results through the kernels alone."""
import os

import numpy as np
import pytest

from conftest import ROOT, mpy_result

_CMP = r"""
import array, json, sys
from features.engine import FeatureEngine
from features import reference, spectrum
jobs = json.load(open(sys.argv[1]))
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
print("RESULT " + json.dumps({"diffs": diffs, "isqrt_bad": bad}))
"""

MULT = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}


def _signals():
    rng = np.random.default_rng(7)
    out = []
    for n, fs in ((64, 3200), (512, 3200), (2048, 3200), (4096, 12000)):
        t = np.arange(n) / fs
        imp = rng.normal(0, 30, n)
        imp[::37] += 2500
        sigs = {
            "noise": rng.normal(0, 2000, n),
            "sine_dc": 1000 + 1500 * np.sin(2 * np.pi * fs / 7.3 * t),
            "impulses": imp,
            "fullscale": np.where(np.sin(2 * np.pi * fs / 13.1 * t) > 0, 32767, -32768),
            "tiny": rng.integers(-2, 3, n),
            "zero": np.zeros(n),
            "step": np.where(np.arange(n) < n // 3, -30000, 30000),
        }
        cfg = {"bearing": {"multiples": MULT}, "rpm": "auto", "rpm_range": [300, 3600],
               "envelope": {"band": [fs * 0.2, fs * 0.45]}, "top_k": 5}
        for k, v in sigs.items():
            out.append(dict(name="%s/%d" % (k, n), n=n, fs=fs, cfg=cfg,
                            x=np.clip(np.round(v), -32768, 32767).astype("<i2")))
    return out


def test_viper_kernels_match_reference_bit_for_bit(tmp_path):
    jobs = []
    for i, s in enumerate(_signals()):
        p = str(tmp_path / ("x%d.bin" % i))
        s.pop("x").tofile(p)
        s["file"] = p
        jobs.append(s)
    import json
    jp = str(tmp_path / "jobs.json")
    with open(jp, "w") as f:
        json.dump(jobs, f)
    res = mpy_result(_CMP, args=(jp,), timeout=170)
    assert res["diffs"] == []
    assert res["isqrt_bad"] == []


_ALLOC = r"""
import array, gc, micropython, json
from features.engine import FeatureEngine
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
print("RESULT " + json.dumps({"grew": grew, "locked": state, "impl": e.impl}))
"""


def test_compute_allocates_nothing_per_window():
    res = mpy_result(_ALLOC)
    assert res["impl"] == "viper"
    assert res["grew"] == 0
    assert res["locked"] == "ok"


_CWRU = r"""
import array, json, sys
from features.engine import FeatureEngine
N = 4096
mult = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}
e = FeatureEngine(N, 12000, {"bearing": {"multiples": mult}, "rpm": 1796, "envelope": {"band": [2000, 5000]}})
out = {}
x = array.array("h", bytes(2 * N))
for name in sys.argv[1:]:
    f = open(name, "rb")
    f.read(128)  # .npy header (format 1.0, 128 bytes for these files)
    res = []
    for w in range(5):
        f.readinto(x)
        e.compute(0, x, 0.0005)
        env = e.envelope(0)
        res.append([env["dom"], env["ratio"][env["dom"]] if env["dom"] else 0, env["alarm"]])
    out[name[-18:]] = res
print("RESULT " + json.dumps(out))
"""


def test_cwru_envelope_through_the_kernels():
    """Case Western Reserve University Bearing Data Center recordings, 12 kHz, N = 4096, band
    2-5 kHz: every window's strongest defect line is BPFO (outer race, file 130) or BPFI (inner
    race, file 105) and alarms; the healthy file (097, decimated from 48 kHz) never alarms."""
    d = os.path.join(ROOT, "tests", "data")
    files = [os.path.join(d, f) for f in ("cwru130_de_12k.npy", "cwru105_de_12k.npy", "cwru097_de_12k.npy")]
    for f in files:
        with open(f, "rb") as fh:
            hdr = fh.read(10)
        assert hdr[:6] == b"\x93NUMPY" and 10 + (hdr[8] | hdr[9] << 8) == 128
    res = mpy_result(_CWRU, args=files)
    for dom, ratio, alarm in res["cwru130_de_12k.npy"]:
        assert dom == "BPFO" and alarm, res
    for dom, ratio, alarm in res["cwru105_de_12k.npy"]:
        assert dom == "BPFI" and alarm, res
    for dom, ratio, alarm in res["cwru097_de_12k.npy"]:
        assert not alarm and ratio < 3, res


_KERN = r"""
import array, json, random
from features import fft, spectrum, envelope, reference
random.seed(11)
B = 0x20000000
diffs = []
# cfft: every size the engine can use (m = 2..2048), measured and given input bounds
for lg in range(1, 12):
    m = 1 << lg
    for tstride in (1, 2):
        n = m * tstride
        tw = array.array("i", [0] * (n // 4 + 1))
        import math
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
print("RESULT " + json.dumps(diffs))
"""


def test_fft_and_isqrt_kernels_match_reference_at_every_size():
    """cfft at m = 2..2048 (radix-2 first stage for odd log2 m, bit reversal four indices per
    step, known or measured input bound), env_mag's and export_u16's integer square roots on
    edge and random values: viper and plain twin bit for bit."""
    assert mpy_result(_KERN, timeout=120) == []


def test_reference_fft_against_numpy():
    """The plain-Python FFT (the viper kernel's twin) against numpy: error at least 85 dB below
    the largest bin for white noise at every size, and exact for m = 2."""
    import array
    import math
    import sys
    sys.path.insert(0, os.path.join(ROOT, "lib"))
    try:
        from features import reference
    finally:
        sys.path.pop(0)
        for k in [k for k in sys.modules if k == "features" or k.startswith("features.")]:
            del sys.modules[k]
    rng = np.random.default_rng(5)
    for lg in range(1, 12):
        m = 1 << lg
        tw = array.array("i", [int(round(65536 * math.cos(2 * math.pi * k / (2 * m)))) for k in range(m // 2 + 1)])
        z = np.round(rng.normal(0, 4e5, m)) + 1j * np.round(rng.normal(0, 4e5, m))
        buf = array.array("i", [0] * (2 * m))
        for i in range(m):
            buf[2 * i] = int(z[i].real) + reference.BIAS
            buf[2 * i + 1] = int(z[i].imag) + reference.BIAS
        st = array.array("i", [0, 0])
        reference.cfft(buf, m, tw, 2, -1, st)
        got = (np.array(buf[0::2], dtype=float) - reference.BIAS + 1j * (np.array(buf[1::2], dtype=float) - reference.BIAS))
        got *= 2.0 ** st[0]
        want = np.fft.fft(z)
        db = 20 * math.log10(np.max(np.abs(got - want)) / np.max(np.abs(want)) + 1e-300)
        assert db < -85, (m, db)
