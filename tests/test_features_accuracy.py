"""Accuracy of the compiled (viper) feature engine on the MicroPython unix port against numpy/scipy
on CPython: synthetic sines, impulses, white noise, DC, full-scale/clipped and all-zero input.
Tolerances are the issue's: RMS/peak/crest 0.5 %, skewness/kurtosis 2 %, dominant frequency
0.25 bin, velocity RMS 1 % of scipy frequency-domain integration, spectral error >= 60 dB below
the largest peak on a broadband signal."""
import json
import math

import numpy as np
import pytest
import scipy.stats as st

from featurelib import G, amp_spectrum, band_rms, run_engine, velocity_rms_scipy

FS = 3200
SCALE = 0.001
rng = np.random.default_rng(20251125)


def sine(n, f, a, fs=FS, phase=0.3):
    t = np.arange(n) / fs
    return a * np.sin(2 * np.pi * f * t + phase)


def i16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def _cases():
    n = 2048
    c = {}
    c["sine"] = dict(n=n, fs=FS, scale=SCALE, x=i16(sine(n, 123.4, 2000) + rng.normal(0, 5, n)))
    c["sine512"] = dict(n=512, fs=FS, scale=SCALE, x=i16(sine(512, 401.7, 9000)))
    c["sine4096"] = dict(n=4096, fs=12000, scale=SCALE, x=i16(sine(4096, 1797.3, 1500, fs=12000) + rng.normal(0, 3, 4096)))
    two = sine(n, 60.2, 3000) + sine(n, 777.7, 800, phase=1.1) + rng.normal(0, 2, n)
    c["two"] = dict(n=n, fs=FS, scale=SCALE, x=i16(two))
    imp = rng.normal(0, 40, n)
    imp[::173] += 3000
    c["impulses"] = dict(n=n, fs=FS, scale=SCALE, x=i16(imp))
    c["noise"] = dict(n=n, fs=FS, scale=SCALE, x=i16(rng.normal(0, 3000, n)), want_p=True)
    c["noise4096"] = dict(n=4096, fs=FS, scale=SCALE, x=i16(rng.normal(0, 200, 4096)), want_p=True)
    c["skewed"] = dict(n=n, fs=FS, scale=SCALE, x=i16(rng.exponential(500, n) - 500))
    c["dc"] = dict(n=n, fs=FS, scale=SCALE, x=i16(5000 + sine(n, 200.0, 1000)))
    c["clipped"] = dict(n=n, fs=FS, scale=SCALE, x=i16(sine(n, 50.0, 60000)), clip=[-32768, 32767])
    c["fullscale"] = dict(n=n, fs=FS, scale=SCALE, x=i16(sine(n, 333.3, 32767)), clip=[-32768, 32767], want_p=True)
    c["zero"] = dict(n=n, fs=FS, scale=SCALE, x=np.zeros(n, dtype=np.int16),
                     cfg={"bearing": {"multiples": {"BPFO": 3.5848}}, "rpm": 1800})
    c["vel50"] = dict(n=n, fs=FS, scale=SCALE, x=i16(sine(n, 50.0, 500)))
    c["vel_noise"] = dict(n=n, fs=FS, scale=SCALE, x=i16(rng.normal(0, 800, n)))
    c["vel_low"] = dict(n=4096, fs=FS, scale=SCALE, x=i16(sine(4096, 4.1, 6000) + rng.normal(0, 20, 4096)),
                        cfg={"velocity": {"band": [2, 1000], "group": 1, "foundation": "flexible"}})
    return c


@pytest.fixture(scope="module")
def results():
    cases = _cases()
    names = list(cases)
    out = run_engine([cases[k] for k in names])
    return {k: (cases[k], r) for k, r in zip(names, out)}


def rel(a, b):
    return abs(a - b) / abs(b)


TD_CASES = ["sine", "sine512", "sine4096", "two", "impulses", "noise", "skewed", "dc", "clipped", "fullscale"]


@pytest.mark.parametrize("name", TD_CASES)
def test_time_domain_against_numpy(results, name):
    c, r = results[name]
    assert r["impl"] == "viper"
    x = c["x"].astype(float)
    td = r["td"]
    d = x - x.mean()
    rms = math.sqrt(np.mean(d ** 2)) * SCALE
    assert rel(td["rms"], rms) < 0.005
    assert abs(td["mean"] - x.mean() * SCALE) < 1e-9 + 1e-6 * abs(x.mean() * SCALE)
    m = np.round(x.mean())  # the engine's peak is about the integer-rounded mean
    pk = np.max(np.abs(x - m)) * SCALE
    assert rel(td["peak"], pk) < 0.005
    assert rel(td["crest"], pk / rms) < 0.005
    assert abs(td["p2p"] - (x.max() - x.min()) * SCALE) < 1e-9
    ku = st.kurtosis(x, fisher=False)
    sk = st.skew(x)
    assert rel(td["kurt"], ku) < 0.02
    # skewness: 2 % where it is not ~0, else 2 % of the unit scale
    assert abs(td["skew"] - sk) < 0.02 * max(abs(sk), 1.0)


def test_skewed_and_impulsive_shapes_are_seen(results):
    assert results["skewed"][1]["td"]["skew"] > 1.5  # exponential: skewness 2
    assert results["impulses"][1]["td"]["kurt"] > 8


@pytest.mark.parametrize("name,f", [("sine", 123.4), ("sine512", 401.7), ("sine4096", 1797.3), ("two", 60.2)])
def test_dominant_frequency_within_quarter_bin(results, name, f):
    c, r = results[name]
    df = c["fs"] / c["n"]
    f0 = r["peaks"][0][0]
    assert abs(f0 - f) < 0.25 * df, (f0, f, df)


def test_peak_amplitudes_and_second_line(results):
    c, r = results["two"]
    (f1, a1), (f2, a2) = r["peaks"][:2]
    assert abs(f2 - 777.7) < 0.25 * FS / 2048
    assert rel(a1, 3.0) < 0.01 and rel(a2, 0.8) < 0.01, r["peaks"]


@pytest.mark.parametrize("name", ["noise", "noise4096"])
def test_broadband_spectral_error_60db_below_peak(results, name):
    c, r = results[name]
    ref = amp_spectrum(c["x"], SCALE)
    got = np.array(r["amp"])
    err = np.max(np.abs(got[1:-1] - ref[1:-1]))
    db = 20 * math.log10(err / ref.max())
    assert db < -60, db


def test_fullscale_spectrum_and_u16_export(results):
    c, r = results["fullscale"]
    ref = amp_spectrum(c["x"], SCALE)
    got = np.array(r["amp"])
    assert 20 * math.log10(np.max(np.abs(got - ref)) / ref.max()) < -60
    bins, df, scale = r["u16"]
    n = c["n"]
    grp = int(round(df / (FS / n)))
    assert len(bins) * grp == n // 2
    # peak-hold export against the reference spectrum, within one export LSB + 0.1 %
    want = np.array([ref[i * grp:(i + 1) * grp].max() for i in range(len(bins))])
    assert np.max(np.abs(np.array(bins) * scale - want)) < scale + 1e-3 * ref.max()


@pytest.mark.parametrize("name", ["sine", "two", "noise", "impulses"])
def test_band_energies_against_numpy(results, name):
    c, r = results[name]
    # 1 %, down to the integer power spectrum's floor (15-bit components: 3e-5 of the largest line)
    floor = 3e-5 * amp_spectrum(c["x"], SCALE).max()
    bands = [[2, 10], [10, 100], [100, 1000]]
    assert len(r["bands"]) == 3
    for (lo, hi), got in zip(bands, r["bands"]):
        want = band_rms(c["x"], SCALE, FS, lo, hi)
        assert abs(got - want) <= 0.01 * want + floor, (lo, hi, got, want)
    assert abs(r["hf"] - band_rms(c["x"], SCALE, FS, 1000, 5000)) <= 0.01 * r["hf"] + floor


@pytest.mark.parametrize("name,lo,hi", [("vel50", 10, 1000), ("vel_noise", 10, 1000), ("sine", 10, 1000),
                                        ("vel_low", 2, 1000), ("two", 10, 1000)])
def test_velocity_within_1pct_of_scipy_integration(results, name, lo, hi):
    c, r = results[name]
    want = velocity_rms_scipy(c["x"], SCALE, c["fs"], lo, hi)
    assert rel(r["vel"], want) < 0.01, (r["vel"], want)


def test_velocity_of_a_sine_is_physical_and_zoned(results):
    c, r = results["vel50"]
    # 0.5 g at 50 Hz: v = a / (2 pi f) RMS = 0.5 * 9806.65 / (2 pi 50) / sqrt(2) = 11.04 mm/s
    want = 0.5 * G / (2 * math.pi * 50) / math.sqrt(2)
    assert rel(r["vel"], want) < 0.01
    assert r["res"]["iso"] == "D"  # > 4.5 mm/s, group 2 rigid
    c, r = results["vel_low"]  # 6 g at 4.1 Hz, 2-1000 Hz band, group 1 flexible
    want = 6.0 * G / (2 * math.pi * 4.1) / math.sqrt(2)
    assert rel(r["vel"], want) < 0.02
    assert r["res"]["iso"] == "D"


def test_dc_offset_is_removed(results):
    c, r = results["dc"]
    assert abs(r["td"]["mean"] - 5.0) < 0.01
    assert abs(r["td"]["rms"] - 1.0 / math.sqrt(2)) < 0.005
    assert abs(r["peaks"][0][0] - 200.0) < 0.25 * FS / 2048
    assert r["bands"][0] < 1e-3  # nothing left at 2-10 Hz


def test_clipped_flag_propagates(results):
    assert results["clipped"][1]["td"]["clipped"] is True
    assert results["clipped"][1]["res"].get("clipped") is True
    assert results["fullscale"][1]["td"]["clipped"] is True
    assert results["sine"][1]["td"]["clipped"] is False
    assert "clipped" not in results["sine"][1]["res"]


def test_all_zero_input_is_finite(results):
    c, r = results["zero"]
    s = json.dumps(r["res"])
    assert "NaN" not in s and "Infinity" not in s
    td = r["td"]
    assert td["rms"] == 0 and td["peak"] == 0 and td["crest"] == 0 and td["kurt"] == 0 and td["skew"] == 0
    assert r["peaks"] == [] and r["vel"] == 0 and r["res"]["iso"] == "A"
    assert r["env"]["dom"] is None and r["env"]["alarm"] is False


def test_bad_window_lengths_are_rejected_clearly():
    x = np.zeros(1000, dtype=np.int16)
    out = run_engine([dict(n=1000, fs=FS, scale=SCALE, x=x), dict(n=0, fs=FS, scale=SCALE, x=x),
                      dict(n=8192, fs=FS, scale=SCALE, x=x)])
    for o in out:
        assert "power of two" in o["error"]


def test_short_window_and_bad_band_raise():
    from conftest import mpy_case
    out = mpy_case("feature_cases", "short_window_and_bad_band")
    assert "features: window holds fewer than n samples" in out["short"]
    assert "ISO 10816-3" in out["iso"]
