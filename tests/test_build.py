"""make build yields mpy-cross output for each board's architecture."""
import json
import os
import subprocess
import sys

from conftest import ROOT

ARCH_BYTE = {"xtensawin": 0x2B, "rv32imc": 0x2F, "x64": 0x0B}


def build(board, tmp_path):
    out = str(tmp_path / board)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), board, "--out", out], check=True,
                   capture_output=True)
    return out


def mpy_files(out):
    for dp, dn, fn in os.walk(out):
        for f in fn:
            if f.endswith(".mpy"):
                yield os.path.join(dp, f)


def test_make_build_esp32_devkitc_is_xtensawin(tmp_path):
    r = subprocess.run(["make", "-s", "build", "BOARD=esp32_devkitc"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = os.path.join(ROOT, "build", "esp32_devkitc")
    files = list(mpy_files(out))
    assert len(files) > 10
    native = []
    for p in files:
        with open(p, "rb") as f:
            head = f.read(4)
        assert head[0] == ord("M") and head[1] == 6  # mpy v6
        assert head[2] in (0x00, 0x2B), (p, hex(head[2]))  # plain bytecode has no arch
        if head[2] == 0x2B:
            native.append(os.path.relpath(p, out))
    assert "lib/features/timedomain.mpy" in native  # the RMS/peak kernel is viper
    assert os.path.exists(os.path.join(out, "main.py"))


def test_host_build_is_x64(tmp_path):
    out = build("host", tmp_path)
    heads = {}
    for p in mpy_files(out):
        with open(p, "rb") as f:
            heads[os.path.relpath(p, out)] = f.read(3)[2]
    assert heads["lib/features/timedomain.mpy"] == ARCH_BYTE["x64"]
    assert heads["lib/board.mpy"] == 0


def test_unknown_board_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "nosuchboard"], capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "unknown board 'nosuchboard'" in r.stderr


def test_every_board_builds_for_its_arch(tmp_path):
    """ESP32-S3 (xtensawin) and ESP32-C3 (rv32imc) too: viper modules carry the board's arch."""
    for board, arch in (("esp32s3_devkitc1", "xtensawin"), ("esp32c3_devkitm1", "rv32imc"),
                        ("esp32_wrover", "xtensawin")):
        out = build(board, tmp_path)
        with open(os.path.join(out, "lib", "features", "fft.mpy"), "rb") as f:
            assert f.read(3)[2] == ARCH_BYTE[arch], board
        with open(os.path.join(out, "lib", "board.mpy"), "rb") as f:
            assert f.read(3)[2] == 0


def test_esp32_board_modules_run_on_micropython(tmp_path):
    """The board modules as built (bytecode, no arch) load on the MicroPython interpreter, with the
    host's machine module standing in for the chip's, and build their buses from the pin map."""
    from conftest import mpy_result
    for board in ("esp32_devkitc", "esp32s3_devkitc1", "esp32c3_devkitm1", "esp32_wrover"):
        out = build(board, tmp_path)
        r = mpy_result("import json, board, machine\n"
                       "machine._i2c_buses[0] = machine.VirtualI2CBus('i2c0')\n"
                       "b = board.make({'board': {}})\n"
                       "print('RESULT ' + json.dumps([b.NAME, b.ARCH, len(b.ACCEL_SLOTS), b.bus('i2c0')[0],"
                       " b.reset_cause()]))", extra_path=[os.path.join(out, "lib")])
        assert r[0] == board and r[1] == ARCH_BY_BOARD[board] and r[2] >= 4 and r[3] == "i2c", r


ARCH_BY_BOARD = {"esp32_devkitc": "xtensawin", "esp32s3_devkitc1": "xtensawin", "esp32c3_devkitm1": "rv32imc",
                 "esp32_wrover": "xtensawin"}


def test_build_all_builds_every_board_with_a_board_py():
    """`tools/build.py --all` (make build-all) builds each folder under boards/ with a board.py,
    the ESP32-WROVER (PSRAM) board among them."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "--all"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    names = sorted(b for b in os.listdir(os.path.join(ROOT, "boards"))
                   if os.path.exists(os.path.join(ROOT, "boards", b, "board.py")))
    assert "esp32_wrover" in names
    for b in names:
        assert "build: %s (" % b in r.stdout, r.stdout
        man = json.load(open(os.path.join(ROOT, "build", b, "BUILD.json")))
        assert man["board"] == b and "lib/board.mpy" in man["files"] and "lib/boardcommon/esp32.mpy" in man["files"]
