"""Streaming envelope and HF features (features/stream.py) through the IIS3DWB emulator and the
compiled kernels on the unix port, against numpy/scipy: AM carrier envelope line (frequency within
0.5 bin, amplitude within 1 dB of band-pass + Hilbert + decimate), HF RMS within 2 %, full-rate
moments, the CWRU recordings' defect lines; the viper kernel equals its twin; no allocation per block."""
import os

import numpy as np
import pytest
import scipy.signal as ss

from conftest import ROOT, mpy_case

FS = 26667.0
DATA = os.path.join(ROOT, "tests", "data")
BEARING = {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}}


def _replay(tmp_path, x, **kw):
    path = str(tmp_path / "sig.npy")
    np.save(path, x.astype("<f4").reshape(-1, 1))
    args = {"path": path, "rate": FS, "windows": 1}
    args.update(kw)
    return mpy_case("stream_cases", "replay", args, timeout=200)


def _peak(e, df):
    """Strongest line of a Hann-windowed amplitude spectrum, interpolated as the node does."""
    n = len(e)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    a = 4.0 / n * np.abs(np.fft.rfft((e - e.mean()) * w))
    j = int(np.argmax(a[1:]) + 1)
    al, ac, ar = a[j - 1], a[j], a[j + 1]
    d = (2 * ar - ac) / (ar + ac) if ar >= al else (ac - 2 * al) / (al + ac)
    d = max(-0.5, min(0.5, d))
    corr = np.pi * d * (1 - d * d) / np.sin(np.pi * d) if d else 1.0
    return (j + d) * df, ac * corr


@pytest.mark.parametrize("fc,fm,a0,m", [(4000.0, 107.3, 0.5, 0.5), (3000.0, 162.2, 1.0, 0.2), (5200.0, 31.7, 0.3, 0.8)])
def test_am_carrier_envelope_line_against_scipy_hilbert(tmp_path, fc, fm, a0, m):
    t = np.arange(int(FS * 3)) / FS
    x = a0 * (1 + m * np.cos(2 * np.pi * fm * t)) * np.sin(2 * np.pi * fc * t) + 0.01 * np.random.default_rng(1).standard_normal(len(t))
    r = _replay(tmp_path, x)
    n = 2048
    df = FS / 16 / n
    f_node, a_node = r["windows"][0]["env"][0]["peak"]
    # reference: the same band (scipy's order-2 Butterworth band-pass), Hilbert magnitude, decimate by 16
    y = ss.sosfilt(ss.butter(2, [2000, 6000], "band", fs=FS, output="sos"), x)
    env = np.abs(ss.hilbert(y))
    e = ss.decimate(ss.decimate(env, 4, ftype="fir"), 4, ftype="fir")
    f_ref, a_ref = _peak(e[200:200 + n], df)
    assert abs(f_node - f_ref) <= 0.5 * df and abs(f_node - fm) <= 0.5 * df, (f_node, f_ref, fm)
    assert abs(20 * np.log10(a_node / a_ref)) <= 0.3, (a_node, a_ref)  # (issue: 1 dB; measured <= 0.05 dB)
    assert r["status"]["band"] == [2000, 6000] and r["status"]["df"] == pytest.approx(df, rel=1e-3)


def test_hf_rms_and_full_rate_moments_against_numpy(tmp_path):
    t = np.arange(int(FS * 3)) / FS
    rng = np.random.default_rng(7)
    x = (0.5 * np.sin(2 * np.pi * 300 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t) + 0.2 * np.sin(2 * np.pi * 5000 * t)
         + 0.05 * rng.standard_normal(len(t)))
    x[::700] += 1.5  # impulses: a kurtosis worth measuring
    r = _replay(tmp_path, x)
    res = r["windows"][0]["res"][0]
    seg = x[500:500 + 32768]
    hf = ss.sosfilt(ss.butter(2, [1000, 10000], "band", fs=FS, output="sos"), x)[500:500 + 32768]
    assert abs(res["hf"] / np.sqrt(np.mean(hf ** 2)) - 1) < 0.02, (res["hf"], np.sqrt(np.mean(hf ** 2)))
    ideal = np.sqrt(0.3 ** 2 / 2 + 0.2 ** 2 / 2 + 0.05 ** 2 * 9000 / (FS / 2))  # tones and noise in 1-10 kHz
    assert abs(res["hf"] / ideal - 1) < 0.05
    d = seg - seg.mean()
    assert abs(res["rms"] / np.sqrt(np.mean(d ** 2)) - 1) < 0.01
    ku = np.mean(d ** 4) / np.mean(d ** 2) ** 2
    assert abs(res["ku"] / ku - 1) < 0.03, (res["ku"], ku)
    # mean, peak-to-peak (full rate) and the dominant frequency (decimated stream, 0.81 Hz bins)
    # (p2p: the chip's filter chain, modelled by the emulator, rounds the 1.5 g impulses a little)
    assert abs(res["mean"] - seg.mean()) < 0.002 and abs(res["p2p"] / np.ptp(seg) - 1) < 0.05, (res, np.ptp(seg))
    assert abs(res["f0"] - 300) < 0.5, res["f0"]


@pytest.mark.parametrize("name,expect", [("cwru130_de_12k.npy", "BPFO"), ("cwru105_de_12k.npy", "BPFI"),
                                         ("cwru097_de_12k.npy", None)])
def test_cwru_full_band_envelope_finds_the_defect(name, expect):
    r = mpy_case("stream_cases", "replay", {"path": os.path.join(DATA, name), "rate": 12000, "scale": 0.0005,
                                            "range_g": 16, "features": {"rpm": 1796, "bearing": BEARING}})
    res = r["windows"][0]["res"][0]
    env = r["windows"][0]["env"][0]
    fund = {d: v[0] for d, v in env["lines"].items()}
    if expect:
        assert max(fund, key=fund.get) == expect and res["env"]["dom"] == expect
        assert res["env"].get("alarm") is True
        assert fund[expect] > 5 * max(v for d, v in fund.items() if d != expect)
    else:
        assert "alarm" not in res["env"] and res["env"]["r"] < 2.0
    assert r["lost"] == 0 and r["impl"] == "viper"


def test_viper_kernel_equals_its_plain_twin():
    r = mpy_case("stream_cases", "twins", {"seed": 3})
    assert r["viper"] == r["python"]
    assert any(v for v in r["viper"][2][0])  # the envelope buffer was written


def test_feeding_a_block_allocates_nothing():
    r = mpy_case("stream_cases", "no_alloc")
    assert r["heap_locked_ok"] and r["samples"] > 10000


# ---- the wide-band node's measurement (vibenode/wideband.py): the band found from the spectrum ----
def _wide(args):
    return mpy_case("stream_cases", "wide", args, timeout=300)


def _band_energy(x, fs, lo=1000, hi=5500, step=500):
    """numpy: energy per `step` Hz band of a recording (Hann-windowed FFT segments, averaged)."""
    n = 8192
    f = np.fft.rfftfreq(n, 1 / fs)
    p = np.zeros(len(f))
    for s in range(0, len(x) - n, n // 2):
        seg = x[s:s + n] - x[s:s + n].mean()
        p += np.abs(np.fft.rfft(seg * np.hanning(n))) ** 2
    edges = np.arange(lo, hi + 1, step)
    return edges[:-1], np.array([p[(f >= a) & (f < a + step)].sum() for a in edges[:-1]])


@pytest.mark.parametrize("name,expect", [("cwru130_de_12k.npy", "BPFO"), ("cwru105_de_12k.npy", "BPFI"),
                                         ("cwru097_de_12k.npy", None)])
def test_auto_band_contains_the_cwru_resonance(name, expect):
    """band "auto": the envelope band found from the spectrum of a full-rate block (CWRU replayed at
    full band through the IIS3DWB emulator) contains the band where numpy finds the recording's
    strongest 1-5.5 kHz energy (its structural resonance), and the defect is still found."""
    st = {"band": "auto", "axes": 1}
    r = _wide({"path": os.path.join(DATA, name), "rate": 12000, "range_g": 16,
               "features": {"rpm": 1796, "bearing": BEARING, "stream": st}})
    assert r["ok"] and not r["errors"] and r["lost"] == 0
    lo, hi = r["band"]
    assert r["status"]["auto"] is True and r["status"]["band"] == [lo, hi]
    x = np.load(os.path.join(DATA, name))[:, 0] * 0.0005
    edges, e = _band_energy(x, 12000.0)
    f = edges[int(np.argmax(e))]
    assert lo <= f and f + 500 <= hi and hi - lo <= 4000, ((lo, hi), f)
    env = r["res"][0]["env"]
    if expect:
        assert env["dom"] == expect and env.get("alarm") is True, env
        assert 2000 <= lo and hi <= 4500  # the drive end's resonance (2.5-4 kHz), not the default 2-6 kHz
    else:
        assert "alarm" not in env and env["r"] < 2.0, env


def test_auto_band_finds_an_emulated_resonance_beyond_the_default_band():
    """Defect impulses ringing an 8 kHz resonance (outside the default 2-6 kHz): the auto band holds
    8 kHz and its envelope line is over 2x stronger than the default band's."""
    sim = {"rpm": 1480, "imbalance_g": [1.0, 0.5, 0.1], "noise_g": 0.05,
           "bearing": {"resonance_hz": 8000, "impulse_g": 2.0}}
    got = {}
    for band in ("auto", None):
        st = {"axes": 1, "band": band} if band else {"axes": 1}
        r = _wide({"sim": sim, "features": {"rpm": 1480, "bearing": BEARING, "stream": st}})
        assert r["ok"] and r["lost"] == 0
        got[band] = r
    lo, hi = got["auto"]["band"]
    assert lo < 8000 < hi and hi - lo <= 4000 and got[None]["band"] == [2000, 6000]
    a_auto, a_def = got["auto"]["res"][0]["env"], got[None]["res"][0]["env"]
    assert a_auto["dom"] == "BPFO" and a_auto.get("alarm") is True
    assert a_auto["a"] > 2 * a_def["a"], (a_auto, a_def)


def test_wideband_full_rate_block_and_spectrum_export_against_numpy():
    """The full rate only on request: one axis' block (the waveform capture) and its spectrum (the
    spectrum capture): 256 bins, peak-hold over 4 FFT bins, equal to numpy's Hann spectrum of the
    same block within 2 % of the peak; a 2467 Hz tone at 0.5 g in the right bin."""
    sim = {"rpm": 1480, "imbalance_g": [0.3, 0.2, 0.1], "harmonics": [[100, [0.5, 0, 0]]], "noise_g": 0.02}
    r = _wide({"sim": sim, "features": {"rpm": 1480}})
    sx, df, g = r["spec"]
    blk = np.array(r["block"], dtype=float)
    n = r["n"]
    assert len(blk) == n == 2048 and len(sx) == 256 and df == pytest.approx(FS / n * 4, rel=1e-6)
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)
    a = 4.0 / n * np.abs(np.fft.rfft((blk - blk.mean()) * w))[:1024] * r["scale"]
    ref = a.reshape(256, 4).max(axis=1)
    got = np.array(sx) * g
    assert np.max(np.abs(got - ref)) < 0.02 * ref.max(), np.max(np.abs(got - ref))
    k = int(np.argmax(got[2:])) + 2
    assert k == int(100 * 1480 / 60 / df) and abs(got[k] - 0.5) < 0.1, (k, got[k])
    assert all(r["res"][i] is not None for i in range(3))  # three axes streamed by default


def test_band_search_over_the_learned_level():
    """features/resonance.py on CPython: over the learned (lowest seen) level a new excess is found
    even where the spectrum's floor method would pick the strongest steady band."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("resonance", os.path.join(ROOT, "lib", "features", "resonance.py"))
    res = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(res)
    healthy = [100.0] * 18
    healthy[0] = 5000.0  # a strong steady 1-1.5 kHz component
    learned = res.learn(None, healthy)
    now = list(healthy)
    now[4] = now[5] = 900.0  # 3-4 kHz rose 9x
    assert res.find(now, None)[:2] == (1000, 2000)  # the floor method: the strongest band
    assert res.find(now, learned) == (3000, 4000, "learned")
    assert res.learn(learned, now)[4] == 100.0  # the learned level keeps the lowest
    assert res.find([100.0] * 18, None) is None  # no excess anywhere: keep the band
    assert res.find([100.0, 130.0, 90.0, 300.0] + [110.0] * 14, None) is None  # 3x over the floor: noise
