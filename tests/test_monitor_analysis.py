"""The dashboard's host-side analysis (tools/vnmon/analysis.py): the envelope spectrum of a
captured waveform finds a known modulation, and the ISO zone limits and bearing markers come
from the node's own tables (lib/features), not a copy."""
import numpy as np

from vnmon import analysis


def test_envelope_spectrum_finds_the_modulation_of_a_resonance():
    rate, n = 3200.0, 2048
    t = np.arange(n) / rate
    rng = np.random.default_rng(1)
    f_mod, depth = 88.4, 0.3
    x = (1 + depth * np.cos(2 * np.pi * f_mod * t)) * 0.5 * np.sin(2 * np.pi * 1200 * t)
    x += 0.2 * np.sin(2 * np.pi * 24.7 * t) + 0.01 * rng.standard_normal(n)   # a shaft line outside the band
    f, a, band = analysis.envelope_spectrum(x, rate, [1000, 1500])
    assert band == (1000, 1500)
    k = int(np.argmax(a * (f > 5)))
    assert abs(f[k] - f_mod) <= rate / n, f[k]
    # the envelope line's amplitude is the modulation: 0.5 g carrier x 0.3 depth (Hann scalloping < 16 %)
    assert 0.84 * 0.15 < a[k] <= 0.151, a[k]
    # without the modulation there is no line there
    f2, a2, _ = analysis.envelope_spectrum(0.5 * np.sin(2 * np.pi * 1200 * t) + 0.01 * rng.standard_normal(n), rate,
                                           [1000, 1500])
    assert a2[k] < 0.1 * a[k]


def test_zone_limits_and_markers_come_from_the_node_tables():
    import importlib.util
    import os
    from conftest import ROOT
    spec = importlib.util.spec_from_file_location("v", os.path.join(ROOT, "lib", "features", "velocity.py"))
    vel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vel)
    lim, group, foundation = analysis.iso_limits({"velocity": {"group": 1, "foundation": "flexible"}})
    assert (group, foundation) == (1, "flexible") and lim == list(vel.ZONES[(1, "flexible")])
    assert analysis.iso_limits({})[0] == list(vel.ZONES[(2, "rigid")])     # the engine's defaults
    feats = {"rpm": 1800, "bearing": {"geometry": {"balls": 9, "ball_d": 7.94, "pitch_d": 39.04}},
             "envelope": {"harmonics": 2}}
    m = {x["name"]: x["hz"] for x in analysis.markers(feats)}
    assert set(m) == {"1x", "2x", "BPFO", "2BPFO", "BPFI", "2BPFI", "BSF", "2BSF", "FTF", "2FTF"}
    assert abs(m["BPFO"] - 30 * 3.585) < 0.05 and abs(m["2BPFI"] - 2 * 30 * 5.415) < 0.1
    # rpm "auto": the shaft speed the node measured (telemetry f1); none known: no markers
    assert analysis.markers({"rpm": "auto", "bearing": feats["bearing"]}, f1=25.0)[0]["hz"] == 25.0
    assert analysis.markers({"rpm": "auto"}) == []
