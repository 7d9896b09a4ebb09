"""What the dashboard computes from stored messages (CPython, numpy/scipy): the envelope
spectrum of a captured waveform, ISO 10816-3 zone limits and the shaft/bearing marker
frequencies of a node's configuration.

The facts themselves have one owner each, the node's own code: the zone table
(lib/features/velocity.py) and the bearing defect multiples (lib/features/bearing.py) are
loaded from there, not repeated here.
"""
import importlib.util
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_MODS = {}


def _device_module(name):
    """lib/features/<name>.py (plain Python that also runs on CPython), loaded by path."""
    if name not in _MODS:
        path = os.path.join(ROOT, "lib", "features", name + ".py")
        spec = importlib.util.spec_from_file_location("vnmon_features_" + name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        _MODS[name] = mod
    return _MODS[name]


# ---- envelope spectrum ----------------------------------------------------------------------
def envelope_spectrum(x_g, rate, band=None):
    """Envelope spectrum (g) of a waveform: band-pass around the bearing resonance, magnitude of
    the analytic signal (Hilbert), mean removed, Hann-windowed amplitude spectrum. The node
    computes the same in fixed point but publishes only its defect lines; this is the host's
    view of a captured window. band defaults to the node's default (30-95 % of Nyquist).
    Returns (freqs Hz, amplitudes g, band used)."""
    from scipy import signal
    x = np.asarray(x_g, dtype=float)
    x = x[np.isfinite(x)]
    nyq = rate / 2.0
    lo, hi = band if band else (0.3 * nyq, 0.95 * nyq)
    hi = min(hi, 0.999 * nyq)
    if len(x) < 64 or not 0 < lo < hi:
        return np.zeros(0), np.zeros(0), (lo, hi)
    sos = signal.butter(4, [lo, hi], btype="bandpass", fs=rate, output="sos")
    y = signal.sosfiltfilt(sos, x - x.mean())
    env = np.abs(signal.hilbert(y))
    env -= env.mean()
    w = np.hanning(len(env))
    amp = np.abs(np.fft.rfft(env * w)) * 2.0 / w.sum()
    f = np.fft.rfftfreq(len(env), 1.0 / rate)
    return f, amp, (lo, hi)


# ---- configuration-derived facts ------------------------------------------------------------
def iso_limits(features_cfg):
    """ISO 10816-3 zone boundaries A/B, B/C, C/D (mm/s) for the node's `features.velocity`
    (group, foundation; the engine's defaults group 2, rigid). Returns (limits, group, foundation)."""
    vc = (features_cfg or {}).get("velocity") or {}
    group, foundation = vc.get("group", 2), vc.get("foundation", "rigid")
    return list(_device_module("velocity").limits(group, foundation)), group, foundation


def bearing_multiples(features_cfg):
    return _device_module("bearing").multiples((features_cfg or {}).get("bearing")) or {}


def shaft_hz(features_cfg, f1=None):
    """Shaft frequency: the configured rpm, else the node's measured 1x line (telemetry f1)."""
    rpm = (features_cfg or {}).get("rpm")
    if isinstance(rpm, (int, float)) and not isinstance(rpm, bool) and rpm > 0:
        return rpm / 60.0
    return f1 if f1 else None


def markers(features_cfg, f1=None, harmonics=None, fmax=None):
    """Marker lines for spectra: shaft harmonics 1x..Nx and bearing defect frequencies with their
    harmonics. [{"name": "BPFO", "h": 1, "hz": ...}, ...]; empty without a shaft speed."""
    fs = shaft_hz(features_cfg, f1)
    if not fs:
        return []
    ec = (features_cfg or {}).get("envelope") or {}
    nh = int(harmonics or ec.get("harmonics", 3))
    out = [{"name": "%dx" % h, "kind": "shaft", "h": h, "hz": fs * h} for h in range(1, nh + 1)]
    for name, m in bearing_multiples(features_cfg).items():
        for h in range(1, nh + 1):
            out.append({"name": name if h == 1 else "%d%s" % (h, name), "kind": name, "h": h, "hz": fs * m * h})
    if fmax:
        out = [m for m in out if m["hz"] <= fmax]
    return out
