"""Helpers for the feature-engine tests: run the engine on the MicroPython unix port (compiled
x64 build) over int16 windows prepared on CPython, and compute the numpy/scipy references."""
import json
import os
import tempfile

import numpy as np
import scipy.signal as ss

from conftest import mpy_case

G = 9806.65


def run_engine(jobs, timeout=120):
    """jobs: dicts with n, fs, x (int16 numpy array), scale, optional cfg, clip, impl, want_p."""
    d = tempfile.mkdtemp(prefix="vn-feat-")
    spec = []
    for i, j in enumerate(jobs):
        path = os.path.join(d, "x%d.bin" % i)
        np.asarray(j["x"], dtype="<i2").tofile(path)
        s = {k: v for k, v in j.items() if k != "x"}
        s["file"] = path
        spec.append(s)
    jp = os.path.join(d, "jobs.json")
    with open(jp, "w") as f:
        json.dump(spec, f)
    return mpy_case("feature_cases", "engine_jobs", {"jobs": jp}, timeout=timeout)


def hann_rfft(x, mean=None):
    """numpy reference: rfft of the Hann-windowed (periodic, scipy 'hann') window with the
    integer mean removed, as the engine does."""
    x = np.asarray(x, dtype=float)
    m = np.round(x.mean()) if mean is None else mean
    w = ss.get_window("hann", len(x))
    return np.fft.rfft((x - m) * w)


def amp_spectrum(x, scale):
    return np.abs(hann_rfft(x)) * 4.0 / len(x) * scale


def band_rms(x, scale, fs, lo, hi, incl_hi=False):
    n = len(x)
    X = hann_rfft(x)
    df = fs / n
    k0 = max(1, int(np.ceil(lo / df - 1e-9)))
    k1 = int(np.floor(hi / df + 1e-9)) + 1 if incl_hi else int(np.ceil(hi / df - 1e-9))
    k1 = min(k1, n // 2)
    return np.sqrt(16.0 / 3.0 * np.sum(np.abs(X[k0:k1]) ** 2)) / n * scale


def velocity_rms_scipy(x, scale, fs, lo=10.0, hi=1000.0):
    """Frequency-domain integration with scipy: V(f) = A(f) / (2 pi f) over [lo, hi] (bins with
    lo <= f <= hi), Hann power correction, in mm/s."""
    import scipy.fft
    n = len(x)
    xx = np.asarray(x, dtype=float)
    w = ss.get_window("hann", n)
    X = scipy.fft.rfft((xx - np.round(xx.mean())) * w) * scale * G
    f = scipy.fft.rfftfreq(n, 1.0 / fs)
    sel = (f >= lo - 1e-9) & (f <= hi + 1e-9) & (f > 0)
    V = X[sel] / (2j * np.pi * f[sel])
    return float(np.sqrt(16.0 / 3.0 * np.sum(np.abs(V) ** 2)) / n)
