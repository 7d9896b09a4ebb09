"""The node boots and reports with each accelerometer and temperature sensor chosen in the
host board config (real MicroPython node, real Mosquitto); a missing sensor is named on status
while the other keeps reporting."""
import json

import pytest

from conftest import Subscriber, node_config, start_node, write_fs

CASES = [
    ("adxl345@spi1:5", "tmp117@i2c0:0x48", 3200),
    ("lis3dh@i2c0:0x18", "max31865@spi1:15", 5376),
    ("mpu6050@i2c0:0x68", "tmp117@i2c0:0x49", 1000),
    ("adxl355@spi1:5", "max31865@spi1:15", 4000),
]


def run_node(broker, tmp_path, chips, cycles=3, **over):
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port, sampling={"rate": 3200, "range_g": 4, "window": 2048, "interval_s": 1}, **over)
    cfg["board"]["chips"] = chips
    cfg["board"]["sim"]["temperature"] = {"start_c": 41.5, "drift_c_per_h": 0.0}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=cycles)
    out, _ = node.communicate(timeout=120)
    assert node.returncode == 0, out
    sub.wait_for(lambda m: m[0].endswith("/telemetry") and json.loads(m[1])["seq"] == cycles, timeout=10)
    tel = sub.json_on("telemetry")
    status = [json.loads(p) for t, p, r in sub.msgs if t.endswith("/status")]
    sub.close()
    return tel, status, out


@pytest.mark.parametrize("accel,temp,odr", CASES)
def test_node_reports_with_each_accelerometer_and_temperature_sensor(broker, tmp_path, accel, temp, odr):
    tel, status, out = run_node(broker, tmp_path, [accel, temp])
    assert len(tel) == 3, out
    online = [s for s in status if s["state"] == "online"]
    names = online[-1]["sensors"]
    assert [n.split("@")[0] for n in names] == [accel.split("@")[0], temp.split("@")[0]], online[-1]
    assert not online[-1]["errors"], online[-1]["errors"]
    for r in tel:
        assert r["odr"] == odr
        assert abs(r["rate"] / odr - 1) < 0.001  # measured rate within 0.1 % of the ODR
        assert abs(r["x"]["rms"] - 0.7071) / 0.7071 < 0.03, r["x"]  # 1 g peak sine
        assert r["z"]["rms"] < 0.03
        assert abs(r["temp_c"] - 41.5) < 0.05
        assert "overrun" not in r
    if accel.split("@")[0] in ("mpu6050", "adxl355"):
        assert all(abs(r["die_c"] - 41.5) < 0.2 for r in tel)  # die temperature where the chip has one


def test_temperature_without_accelerometer(broker, tmp_path):
    tel, status, out = run_node(broker, tmp_path, ["tmp117@i2c0:0x48"])
    assert len(tel) == 3, out
    for r in tel:
        assert abs(r["temp_c"] - 41.5) < 0.05 and "x" not in r
    online = [s for s in status if s["state"] == "online"]
    assert online[-1]["sensors"] == ["tmp117@i2c@0x48"]
    assert "absent" in online[-1]["errors"]["accel"]  # the missing one is named


def test_accelerometer_without_temperature_sensor(broker, tmp_path):
    tel, status, out = run_node(broker, tmp_path, ["adxl345@i2c0:0x53"])
    assert len(tel) == 3, out
    assert all("temp_c" not in r and "x" in r for r in tel)
    online = [s for s in status if s["state"] == "online"]
    assert "temp" not in online[-1]["errors"]  # none fitted, none configured: not an error


def test_configured_temperature_sensor_missing_is_named(broker, tmp_path):
    tel, status, out = run_node(broker, tmp_path, ["adxl345@i2c0:0x53"], sensors={"temp": {"chip": "max31865"}})
    assert len(tel) == 3 and all("x" in r for r in tel), out
    errs = [s["errors"].get("temp") for s in status if s["state"] == "online"]
    assert any(e and "absent" in e for e in errs), errs


def test_bus_error_mid_window_discards_counts_and_carries_on(tmp_path):
    from conftest import free_port, mpy_case
    cfg = node_config(free_port(), sampling={"rate": 3200, "range_g": 4, "window": 1024, "interval_s": 1})
    cfg["board"]["chips"] = ["adxl345@i2c0:0x53", "tmp117@i2c0:0x48"]
    fs = write_fs(str(tmp_path / "fs"), cfg)
    r = mpy_case("sensors_node", "sensor_faults", cwd=fs)
    assert "x" in r["ok1"]
    assert r["stuck"] is False and r["err"].startswith("window dropped: bus_timeout")
    dropped, has_x, temp, err = r["after"]
    assert dropped == 1 and has_x and abs(temp - 35.0) < 0.1 and err is None  # carried on, error cleared
    assert r["gone"][0] is True and "absent" in r["gone"][1]  # twice in a row: re-detect, named
    assert "temp_c" in r["temp_only"] and "x" not in r["temp_only"]  # temperature still reported
    assert r["sensors"] == ["tmp117@i2c@0x48"]


def _temp_search(tmp_path, chips, windows=8, **over):
    from conftest import free_port, mpy_case
    cfg = node_config(free_port(), sampling={"rate": 3200, "range_g": 4, "window": 1024, "interval_s": 1}, **over)
    cfg["board"]["chips"] = chips
    cfg["board"]["sim"]["temperature"] = {"start_c": 35.0, "drift_c_per_h": 0.0}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    return mpy_case("sensors_node", "temp_search", {"windows": windows, **over.pop("case", {})}, cwd=fs)


def test_temperature_sensor_not_fitted_is_not_looked_for_again(tmp_path):
    """None fitted, none configured: found absent at boot, and the detection code (4.5 KB of heap on an
    ESP32) is not loaded again at the windows after (it was, 1 s doubling, from the first window on)."""
    r = _temp_search(tmp_path, ["adxl345@i2c0:0x53"])
    assert r["loads"] == 0, r
    assert r["temps"] == [None] * 8 and r["error"] is None and r["sensors"] == ["adxl345@i2c@0x53"]


def test_configured_temperature_sensor_missing_is_looked_for_with_backoff(tmp_path):
    r = _temp_search(tmp_path, ["adxl345@i2c0:0x53"], sensors={"temp": {"chip": "tmp117"}})
    assert r["loads"] == 3, r  # backoff 1, 2, 4 s (then 8) over 8 windows 1.3 s apart
    assert "absent" in r["error"] and r["temps"] == [None] * 8


def test_temperature_sensor_gone_is_looked_for_again(tmp_path):
    r = _temp_search(tmp_path, ["adxl345@i2c0:0x53", "tmp117@i2c0:0x48"],
                     case={"unplug": 3, "spec": "tmp117@i2c0:0x48"})
    assert all(abs(t - 35.0) < 0.1 for t in r["temps"][:3]), r
    assert r["temps"][3:] == [None] * 5 and r["loads"] >= 2, r  # looked for again, with backoff
    assert "absent" in r["error"], r
