"""Board pin maps and package manifests (CPython: board modules imported with stand-in machine
and network modules, no hardware)."""
import importlib.util
import json
import os
import sys
import types

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# GPIOs a sensor must not use: strapping, flash/PSRAM, USB, console UART (per Espressif data sheets)
FORBIDDEN = {
    "esp32_devkitc": {0, 2, 6, 7, 8, 9, 10, 11, 12, 15, 1, 3, 34, 35, 36, 37, 38, 39},
    "esp32s3_devkitc1": {0, 3, 45, 46, 19, 20, 43, 44, 26, 27, 28, 29, 30, 31, 32, 35, 36, 37, 38, 48},
    "esp32c3_devkitm1": {2, 8, 9, 18, 19, 20, 21, 11, 12, 13, 14, 15, 16, 17},
    # WROVER: GPIO16/17 carry the PSRAM; strapping 0/2/5/12/15
    "esp32_wrover": {0, 2, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 1, 3, 34, 35, 36, 37, 38, 39},
}
ARCH = {"esp32_devkitc": "xtensawin", "esp32s3_devkitc1": "xtensawin", "esp32c3_devkitm1": "rv32imc",
        "esp32_wrover": "xtensawin"}


def load_board(name):
    machine = types.ModuleType("machine")
    for attr in ("PWRON_RESET", "HARD_RESET", "WDT_RESET", "DEEPSLEEP_RESET", "SOFT_RESET"):
        setattr(machine, attr, len(attr))
    sys.modules["machine"] = machine
    sys.modules["network"] = types.ModuleType("network")
    pkg = types.ModuleType("boardcommon")
    pkg.__path__ = [os.path.join(ROOT, "boards", "common")]
    sys.modules["boardcommon"] = pkg
    clock = types.ModuleType("boardcommon.clock")
    clock.Clock = object  # (MicroPython's time.ticks_* do not exist here)
    sys.modules["boardcommon.clock"] = clock
    spec = importlib.util.spec_from_file_location("boardcommon.esp32", os.path.join(ROOT, "boards", "common", "esp32.py"))
    m = importlib.util.module_from_spec(spec)
    sys.modules["boardcommon.esp32"] = m
    spec.loader.exec_module(m)
    spec = importlib.util.spec_from_file_location("board_" + name, os.path.join(ROOT, "boards", name, "board.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


@pytest.mark.parametrize("name", sorted(ARCH))
def test_board_pin_maps_are_real_and_consistent(name):
    try:
        b = load_board(name)
    finally:
        for k in ("machine", "network", "boardcommon", "boardcommon.clock", "boardcommon.esp32"):
            sys.modules.pop(k, None)
    assert b.ARCH == ARCH[name]
    p = b.PINS
    gpios = [p["i2c0"]["sda"], p["i2c0"]["scl"], p["spi1"]["sck"], p["spi1"]["mosi"], p["spi1"]["miso"],
             p["cs_accel"], p["cs_rtd"], p["int1"]] + ([p["int2"]] if "int2" in p else [])
    assert len(set(gpios)) == len(gpios), "a GPIO is used twice: %s" % gpios
    assert not set(gpios) & FORBIDDEN[name], set(gpios) & FORBIDDEN[name]
    chips = {c for c, _, _ in b.ACCEL_SLOTS}
    assert chips == {"adxl345", "lis3dh", "mpu6050", "adxl355", "iis3dwb"}
    assert {c for c, _, _ in b.TEMP_SLOTS} == {"tmp117", "max31865"}
    for chip, bus, where in b.ACCEL_SLOTS + b.TEMP_SLOTS:
        assert bus in p
        if bus == "spi1":
            assert where in (p["cs_accel"], p["cs_rtd"])
        else:
            assert 0x08 <= where <= 0x77
    assert b.Board.TEMP_SLOTS == b.TEMP_SLOTS and b.Board.ACCEL_SLOTS == b.ACCEL_SLOTS


@pytest.mark.parametrize("pkg", ["sensors", "window"])
def test_mip_manifest_lists_every_module(pkg):
    d = os.path.join(ROOT, "lib", pkg)
    man = json.load(open(os.path.join(d, "package.json")))
    listed = {dst for dst, src in man["urls"]}
    assert listed == {"%s/%s" % (pkg, f) for f in os.listdir(d) if f.endswith(".py")}
    for dst, src in man["urls"]:
        assert os.path.exists(os.path.join(d, src))
