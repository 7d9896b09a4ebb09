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
    for name in ("td", "ex", "pk", "bs", "vs", "sx", "ev", "envx"):
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
