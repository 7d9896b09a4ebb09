"""32-bit safety of the kernels, modelled: viper ints are 32-bit on the ESP32 but 64-bit on the
x64 unix port, so an overflow would go unnoticed there. The plain-Python twins do exactly the
viper kernels' arithmetic (test_features_kernels.py proves it bit for bit); here every arithmetic
result inside them is checked to fit a signed 32-bit word, on CPython, while the whole engine
runs worst-case windows (full-scale steps, squares, Nyquist, impulses, clipped noise) at the
smallest and largest window lengths."""
import array
import ast
import os
import sys
import types

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.path.join(ROOT, "lib")

LO, HI = -(1 << 31), (1 << 31) - 1


class Overflow32(AssertionError):
    pass


def _chk(v):
    if isinstance(v, int) and not LO <= v <= HI:
        raise Overflow32(v)
    return v


class _Wrap(ast.NodeTransformer):
    """x op y -> _chk(x op y); -x -> _chk(-x); x op= y -> x = _chk(x op y)."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        return ast.copy_location(ast.Call(ast.Name("_chk", ast.Load()), [node], []), node)

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            return ast.copy_location(ast.Call(ast.Name("_chk", ast.Load()), [node], []), node)
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        load = ast.parse(ast.unparse(node.target), mode="eval").body
        val = ast.BinOp(load, node.op, node.value)
        return ast.copy_location(ast.Assign([node.target], ast.Call(ast.Name("_chk", ast.Load()), [val], [])), node)


FAMILIES = ("timedomain_ref", "fft_ref", "spectrum_ref", "envelope_ref")  # what reference.py gathers


def checked_reference():
    """features.reference with every arithmetic result checked: its kernel families' sources,
    wrapped, run in one module (their imports of each other dropped: the names are there)."""
    gathered = ast.parse(open(os.path.join(LIB, "features", "reference.py")).read())
    assert [n.module for n in gathered.body if isinstance(n, ast.ImportFrom)] == ["features." + f for f in FAMILIES]
    mod = types.ModuleType("features.reference")
    mod._chk = _chk
    for fam in FAMILIES:
        tree = ast.parse(open(os.path.join(LIB, "features", fam + ".py")).read())
        tree.body = [n for n in tree.body if not (isinstance(n, ast.ImportFrom) and n.module.startswith("features"))]
        tree = _Wrap().visit(tree)
        ast.fix_missing_locations(tree)
        exec(compile(tree, fam + ".py(checked)", "exec"), mod.__dict__)
    return mod


@pytest.fixture(scope="module")
def engine_cls():
    sys.path.insert(0, LIB)
    try:
        import features  # noqa: F401  (the package, from lib/)
        checked = checked_reference()
        sys.modules["features.reference"] = checked
        import features
        features.reference = checked
        from features import engine
        assert engine.IMPL == "python"  # CPython cannot load the viper modules
        yield engine.FeatureEngine
    finally:
        for k in [k for k in sys.modules if k == "features" or k.startswith("features.")]:
            del sys.modules[k]
        sys.path.remove(LIB)


def test_the_checker_catches_an_overflow():
    m = checked_reference()
    x = array.array("i", [1 << 30, 0])
    with pytest.raises(Overflow32):
        m._chk(x[0] * 4)
    # and a kernel fed beyond its documented bounds trips it (|v| > 2**22 into the power step)
    buf = array.array("i", [m.BIAS + 70000, m.BIAS + 70000, m.BIAS, m.BIAS])
    with pytest.raises(Overflow32):
        m.power(buf, 1, 0, array.array("i", [0, 0]))


def _worst_cases(n):
    i = np.arange(n)
    rng = np.random.default_rng(n)
    return {
        "step": np.where(i < n // 2, -32768, 32767),
        "square": np.where((i // 8) % 2, 32767, -32768),
        "nyquist": np.where(i % 2, 32767, -32768),
        "impulse": np.where(i == n // 3, 32767, -32768),
        "clipped_noise": np.clip(rng.normal(0, 40000, n), -32768, 32767),
        "band_sines": 16000 * np.sin(2 * np.pi * 0.3 * i) + 16000 * np.sin(2 * np.pi * 0.41 * i),
        "dc_max": np.full(n, 32767),
    }


@pytest.mark.parametrize("n", [64, 4096])
def test_worst_case_windows_stay_in_int32(engine_cls, n):
    fs = 12000
    cfg = {"bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}},
           "rpm": "auto", "rpm_range": [60, 36000], "envelope": {"band": [fs * 0.05, fs * 0.49]},
           "velocity": {"band": [2, 5000]}, "top_k": 16}
    e = engine_cls(n, fs, cfg)
    assert e.impl == "python"
    assert e.k.cfft.__code__.co_filename == "fft_ref.py(checked)"
    assert e.k.env_mag.__code__.co_filename == "envelope_ref.py(checked)"
    for name, x in _worst_cases(n).items():
        a = array.array("h", np.round(x).astype("<i2").tobytes())
        e.compute(0, a, 0.001)  # raises Overflow32 on any 32-bit overflow
        r = e.result(0)
        assert r["rms"] >= 0, name
