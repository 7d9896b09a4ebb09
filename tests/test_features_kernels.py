"""The viper kernels against their plain-Python twins (features/reference.py), on the unix port,
bit for bit, over every kernel the engine runs (whole-engine state compared after compute on many
signals and window lengths), plus the engine's allocation-freedom (heap locked) and the CWRU
envelope results through the kernels alone."""
import os

import numpy as np
import pytest

from conftest import ROOT, mpy_case


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
    res = mpy_case("feature_cases", "viper_vs_reference", {"jobs": jp}, timeout=170)
    assert res["diffs"] == []
    assert res["isqrt_bad"] == []


def test_compute_allocates_nothing_per_window():
    res = mpy_case("feature_cases", "compute_alloc")
    assert res["impl"] == "viper"
    assert res["grew"] == 0
    assert res["locked"] == "ok"


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
    res = mpy_case("feature_cases", "cwru_envelope", {"files": files})
    for dom, ratio, alarm in res["cwru130_de_12k.npy"]:
        assert dom == "BPFO" and alarm, res
    for dom, ratio, alarm in res["cwru105_de_12k.npy"]:
        assert dom == "BPFI" and alarm, res
    for dom, ratio, alarm in res["cwru097_de_12k.npy"]:
        assert not alarm and ratio < 3, res


def test_fft_and_isqrt_kernels_match_reference_at_every_size():
    """cfft at m = 2..2048 (radix-2 first stage for odd log2 m, bit reversal four indices per
    step, known or measured input bound), env_mag's and export_u16's integer square roots on
    edge and random values: viper and plain twin bit for bit; the power spectrum computed in
    place (in the FFT data) equals the one into its own array."""
    assert mpy_case("feature_cases", "fft_isqrt_kernels", timeout=120) == []


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
