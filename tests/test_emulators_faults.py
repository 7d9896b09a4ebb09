"""Injected faults (absent chip, stuck bus, bit flip, dead chip) give named errors and the
driver/sampler recover once the fault is gone; nothing crashes."""
import pytest

from conftest import mpy_case

SPECS = ["adxl345@i2c0:0x53", "adxl345@spi1:5", "lis3dh@i2c0:0x18", "lis3dh@spi1:5", "mpu6050@i2c0:0x68",
         "adxl355@i2c0:0x1D", "adxl355@spi1:5"]


@pytest.mark.parametrize("spec", SPECS)
def test_every_fault_is_named_and_recovered_from(spec):
    r = mpy_case("emulators_faults", "every_fault", {"spec": spec})
    absent = r["absent"]
    assert absent[0] == "absent" and "no accelerometer" in absent[1]
    flip = r["flip_id"]
    assert flip[0] == "absent" and "wrong_id" in flip[1]  # named per slot tried
    assert r["flip_cfg"][0] == "config_rejected"
    assert r["cfg_retry"] == "ok" and r["window1"] == "ok"
    stuck = r["stuck"][0]
    if "@i2c" in spec:
        assert stuck == "bus_timeout"
    else:
        assert stuck in ("fifo_corrupt", "absent")  # MISO stuck high reads impossible status
    assert r["after_stuck"] == "ok"
    assert r["dead"][0] == "no_data"
    assert r["revived"] == "ok"
    assert r["dropped"] == [1, 2]  # each failed window is discarded and counted
    assert r["windows"] == 3


def test_adxl355_framing_check_on_axis_markers():
    r = mpy_case("emulators_faults", "adxl355_framing")
    assert r["n"] == [2, 1, 1]
    assert r["v"] == [1, -2, 16000, 3, -4, -16000]  # 20-bit >> 4
