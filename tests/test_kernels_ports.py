"""The device's viper kernels (feature engine, cfft, envelope, isqrt/export, the sampler's de-interleave,
the drivers' burst copies) give the x64 build's results on 32-bit targets: tests/mpy/kernels32.py runs on
the x64 unix port (the reference), on the interpreter under test (VN_MPY: the 32-bit i386 port with
build/host-x86) and on RV32 under QEMU (VN_RV32: the ESP32-C3's rv32imc machine code from
build/esp32c3_devkitm1). Kernels on identical integer inputs must agree bit for bit everywhere. The
engine's state and results too on the i386 port; on RV32 floats are single precision (as on an
ESP32), so the engine's float-built tables (Hann window, twiddles) can round differently: there its
results are compared with a tolerance and its categorical outputs exactly."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import MPY, MPY32, ROOT, mpy_result

SCRIPT = os.path.join(ROOT, "tests", "mpy", "kernels32.py")
X64 = os.path.join(ROOT, ".venv", "bin", "micropython")
RV32 = os.environ.get("VN_RV32") or None


def _result(stdout):
    for line in stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no RESULT line:\n" + stdout[-3000:])


def _build(board):
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), board], check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, "build", board)


@pytest.fixture(scope="module")
def x64():
    lib = os.path.join(_build("host"), "lib")
    r = subprocess.run([X64, SCRIPT], env=dict(os.environ, MICROPYPATH=lib), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    return _result(r.stdout)


def _diffs(a, b, tol, path=""):
    """paths where b differs from a: ints and strings exactly, floats within tol (relative)"""
    if isinstance(a, dict):
        out = [path + "/" + k + ": missing" for k in a if k not in b]
        for k in a:
            if k in b:
                out += _diffs(a[k], b[k], tol, path + "/" + k)
        return out
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return [path + ": %r != %r" % (a, b)]
        return [d for i in range(len(a)) for d in _diffs(a[i], b[i], tol, "%s/%d" % (path, i))]
    if isinstance(a, float) or isinstance(b, float):
        if abs(a - b) <= tol * max(abs(a), abs(b)) + 1e-9:
            return []
    elif a == b:
        return []
    return [path + ": %r != %r" % (a, b)]


def test_kernels_and_engine_match_x64_on_the_interpreter_under_test(x64):
    """Bit for bit (state checksums) and results to print precision on VN_MPY (the 32-bit port there)."""
    if not MPY32:
        pytest.skip("the x64 port is the reference itself (VN_MPY=<32-bit micropython> runs this: make test-32)")
    here = mpy_result(open(SCRIPT).read(), timeout=120)
    assert here["engine"]["noise/2048"]["impl"] == "viper"
    assert _diffs(x64, here, 1e-9) == []


def test_kernels_match_x64_on_rv32_under_qemu(x64):
    if not RV32 or not os.path.exists(RV32):
        pytest.skip("no RV32 runner (VN_RV32=../shared/tools/micropython-rv32-qemu/run; make test-32 sets it)")
    if not shutil.which("qemu-system-riscv32"):
        pytest.skip("qemu-system-riscv32 missing (apt-get install qemu-system-misc; make setup does)")
    tree = _build("esp32c3_devkitm1")
    r = subprocess.run([RV32, "--heap", "512k", tree, SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, MPREMOTE=os.path.join(ROOT, ".venv", "bin", "mpremote")))
    rv = _result(r.stdout)
    # the integer kernels on identical inputs: exactly
    for k in ("cfft", "env_mag", "export", "copies"):
        assert rv[k] == x64[k], k
    for name, e in x64["engine"].items():
        got = rv["engine"][name]
        assert got["impl"] == "viper", name
        res, ref = got["result"], e["result"]
        # what the node reports as a decision is the same; numbers within 3 % (single-precision tables)
        assert res["iso"] == ref["iso"] and res["env"]["dom"] == ref["env"]["dom"], (name, res, ref)
        assert _diffs(ref, res, 0.03) == [], name
