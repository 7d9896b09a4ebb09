"""The foundation slice end to end: host node on the unix port -> real Mosquitto -> paho."""
import json

from conftest import Subscriber, node_config, start_node, write_fs


def test_node_publishes_rms_of_simulated_machine(broker, tmp_path):
    sub = Subscriber(broker.port)
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    node = start_node(fs, cycles=4)
    out, _ = node.communicate(timeout=120)
    assert node.returncode == 0, out
    tel = sub.wait_for(lambda m: m[0].endswith("/telemetry") and json.loads(m[1])["seq"] == 4, timeout=20)
    assert tel is not None, "no telemetry; node output:\n" + out
    reports = sub.json_on("telemetry")
    sub.close()
    assert [r["seq"] for r in reports] == [1, 2, 3, 4]
    for r in reports:
        assert r["node"] == "sim-0001"
        assert r["n"] == 2048
        assert abs(r["rate"] - 3200) < 3.2  # measured sample rate within 0.1 % of the ODR
        # a 1 g peak sine reads 0.707 g RMS within 2 %
        assert abs(r["x"]["rms"] - 0.7071) / 0.7071 < 0.02, r["x"]
        assert abs(r["x"]["pk"] - 1.0) < 0.05  # feature names: lib/features/engine.py result()
        assert abs(r["x"]["cf"] - 1.414) < 0.05
        assert r["y"]["rms"] < 0.01 and r["z"]["rms"] < 0.01
        assert isinstance(r["ts"], (int, float)) and r["ts"] > 1.7e9


def test_birth_and_last_will(broker, tmp_path):
    sub = Subscriber(broker.port)
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    node = start_node(fs, cycles=2)
    out, _ = node.communicate(timeout=120)
    assert sub.wait_for(lambda m: m[0].endswith("/status") and b"offline" in m[1], timeout=20), out
    status = [json.loads(p) for t, p, r in sub.msgs if t == "vibenode/plant1/sim-0001/status"]
    sub.close()
    assert status[0]["state"] == "online"
    assert status[0]["sensors"] and status[0]["sensors"][0].startswith("adxl345")
    assert status[0]["engine"] == "viper"
    assert status[-1]["state"] == "offline"


def test_dead_broker_reported_and_node_keeps_measuring(tmp_path):
    from conftest import free_port
    port = free_port()  # nobody listens here
    fs = write_fs(str(tmp_path / "fs"), node_config(port))
    node = start_node(fs, cycles=3)
    out, _ = node.communicate(timeout=120)
    assert node.returncode == 0, out
    assert "connect: OSError" in out  # the failure is named
    assert out.count("not delivered") == 3  # and every window was still measured


def test_missing_sensor_reported_on_status(broker, tmp_path):
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port)
    cfg["board"]["chips"] = []  # nothing on the buses
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=2)
    out, _ = node.communicate(timeout=120)
    assert node.returncode == 0, out
    m = sub.wait_for(lambda m: m[0].endswith("/status") and b"no accelerometer" in m[1], timeout=20)
    sub.close()
    assert m is not None, out
    assert json.loads(m[1])["state"] == "online"


def test_iso_zone_change_is_an_alarm(broker, tmp_path):
    """A machine whose velocity lies in ISO 10816-3 zone C: the node says so on `alarm` (zone A ->
    C at the first reading) without any threshold configured, and the telemetry carries the zone."""
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port, features={"rpm": 1480, "velocity": {"band": [10, 1000], "group": 2,
                                                                       "foundation": "rigid"}})
    cfg["board"]["sim"] = {"rpm": 1480, "imbalance_g": [0.25, 0.0, 0.0], "noise_g": 0.0, "gravity_g": [0.0, 0.0, 0.0]}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=3)
    out, _ = node.communicate(timeout=120)
    assert node.returncode == 0, out
    assert sub.wait_for(lambda m: m[0].endswith("/telemetry") and json.loads(m[1])["seq"] == 3, timeout=20), out[-2000:]
    tel = sub.json_on("telemetry")
    alarms = sub.json_on("alarm")
    sub.close()
    zone = tel[0]["x"]["iso"]
    assert zone in ("C", "D"), tel[0]["x"]  # 0.25 g at 24.7 Hz: ~16 mm/s RMS
    assert [(a["metric"], a["prev"], a["state"]) for a in alarms] == [("vel", "A", zone)], alarms
