"""Feature configuration helpers (plain Python, run on CPython): ISO 10816-3 zone limits and
bearing defect multiples from geometry; and the measured-1x shaft speed on the unix port."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lib"))

from features import bearing, velocity  # noqa: E402
from featurelib import run_engine  # noqa: E402


@pytest.mark.parametrize("group,foundation,lims", [(2, "rigid", (1.4, 2.8, 4.5)), (2, "flexible", (2.3, 4.5, 7.1)),
                                                   (1, "rigid", (2.3, 4.5, 7.1)), (1, "flexible", (3.5, 7.1, 11.0))])
def test_iso_10816_3_zones(group, foundation, lims):
    lim = velocity.limits(group, foundation)
    assert lim == lims
    a, b, c = lims
    assert [velocity.zone(v, lim) for v in (0.0, a * 0.99, a, b * 0.99, b, c * 0.99, c, 100.0)] == \
        ["A", "A", "B", "B", "C", "C", "D", "D"]
    with pytest.raises(ValueError):
        velocity.limits(3, "rigid")


def test_bearing_multiples_from_geometry_match_the_published_6205_values():
    # SKF 6205-2RS JEM (the CWRU drive-end bearing): 9 balls, 7.94 mm, pitch 39.04 mm
    m = bearing.multiples({"geometry": {"balls": 9, "ball_d": 7.94, "pitch_d": 39.04}})
    for k, v in {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}.items():
        assert abs(m[k] - v) / v < 0.001, (k, m[k], v)
    assert bearing.multiples({"multiples": {"BPFO": 3.1}}) == {"BPFO": 3.1}
    with pytest.raises(ValueError):
        bearing.multiples_from_geometry(9, 40, 39)


def test_measured_shaft_speed_from_the_1x_line():
    fs, n = 3200, 4096
    t = np.arange(n) / fs
    f1 = 24.73  # 1484 rpm
    x = 3000 * np.sin(2 * np.pi * f1 * t) + 900 * np.sin(2 * np.pi * 2 * f1 * t + 1) + \
        np.random.default_rng(3).normal(0, 20, n)
    cfg = {"rpm": "auto", "rpm_range": [600, 3600], "bearing": {"multiples": {"BPFO": 3.5848}}}
    r = run_engine([dict(n=n, fs=fs, scale=0.001, x=np.round(x).astype(np.int16), cfg=cfg)])[0]
    assert abs(r["shaft"] - f1) < 0.25 * fs / n, r["shaft"]
    assert abs(r["res"]["f1"] - f1) < 0.25 * fs / n


def _consts(name):
    """{NAME: value} of the module-level `_NAME = const(v)` lines of lib/features/<name>.py."""
    import ast
    src = os.path.join(ROOT, "lib", "features", name + ".py")
    out = {}
    for node in ast.parse(open(src).read()).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "const"):
            out[node.targets[0].id] = ast.literal_eval(node.value.args[0])
    return out


def test_slot_consts_agree_with_the_engine():
    """The engine's per-axis slot layout (engine.py, const() so it compiles inline) is read by
    result.py and detail.py under the same names: every one of their slot consts is the engine's."""
    eng = _consts("engine")
    assert {"_S", "_MEAN", "_CLIP", "_M34", "_EA", "_EE", "_F1", "_ENV_OK", "_PSH"} <= set(eng)
    for name in ("result", "detail"):
        got = _consts(name)
        assert got, name
        for k, v in got.items():
            assert eng.get(k) == v, (name, k, v, eng.get(k))
    # and a changed slot is caught: the check compares values, not just names
    assert eng["_CLIP"] != eng["_M34"]
