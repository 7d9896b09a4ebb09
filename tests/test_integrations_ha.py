"""Home Assistant device discovery (vibenode/hadisc.py, vibenode/integrations.py) on a real
Mosquitto: the retained payload checked against HA's discovery rules (required keys, units per
device class, unique ids, default_entity_id), every value_template rendered with Jinja2 (the
engine HA uses) against a real telemetry and status message of the same run; re-published on
HA's birth; removed by the decommission command."""
import json
import re
import time

import jinja2
import paho.mqtt.client as mqtt

from conftest import Broker, Subscriber, node_config, start_node, write_fs

CONF = "homeassistant/device/sim-0001/config"
UNITS = {"speed": {"mm/s"}, "temperature": {"\u00b0C"}, "frequency": {"Hz"}}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
ENV = jinja2.Environment()


def render(tpl, payload):
    try:
        vj = json.loads(payload)
    except ValueError:
        vj = None
    return ENV.from_string(tpl).render(value=payload, value_json=vj).strip()


def test_discovery_rules_templates_birth_and_decommission(tmp_path):
    b = Broker()
    sub = Subscriber(b.port, topic="#")
    node = None
    try:
        cfg = node_config(b.port, name="Pump 7", ha={"enabled": True, "prefix": "homeassistant"},
                          features={"bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568,
                                                              "FTF": 0.39828}}, "rpm": 1480})
        fs = write_fs(str(tmp_path / "fs"), cfg)
        node = start_node(fs, cycles=12)
        assert sub.wait_for(lambda m: m[0] == CONF and m[1], 30), "no discovery"
        assert sub.wait_for(lambda m: m[0].endswith("/telemetry"), 30)
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ha-test")
        c.connect("127.0.0.1", b.port)
        c.loop_start()
        c.publish("homeassistant/status", b"online", qos=1)  # HA (re)started
        assert sub.wait_for(lambda m: sum(1 for t, p, r in sub.msgs if t == CONF and p) >= 2, 20), "not re-published"
        c.publish("vibenode/plant1/sim-0001/cmd", json.dumps({"id": "d1", "cmd": "decommission"}), qos=1)
        assert sub.wait_for(lambda m: m[0] == CONF and m[1] == b"", 20), "not removed"
        c.loop_stop()
        c.disconnect()
        out, _ = node.communicate(timeout=120)
        assert node.returncode == 0, out
        late = Subscriber(b.port, topic="homeassistant/#")  # nothing retained is left
        time.sleep(1.0)
        late.close()
        assert late.msgs == []
    finally:
        if node is not None and node.poll() is None:
            node.kill()
        sub.close()
        b.stop()
    ack = [json.loads(p) for t, p, r in sub.msgs if t.endswith("/cmd/ack")]
    assert ack == [{"id": "d1", "cmd": "decommission", "ok": True, "result": {"ha_removed": True}}], ack
    saved = json.load(open(str(tmp_path / "fs" / "config.json")))
    assert saved["ha"]["enabled"] is False  # not announced again after a reboot
    disc = json.loads([p for t, p, r in sub.msgs if t == CONF and p][0])
    tel = [p for t, p, r in sub.msgs if t.endswith("/telemetry")]
    status = [p for t, p, r in sub.msgs if t.endswith("/status")][0]
    check(disc, tel[-1], status)


def check(d, tel, status):
    dev = d["dev"]
    assert dev["identifiers"] == ["vibenode_sim-0001"] and dev["name"] == "Pump 7"
    for k in ("model", "manufacturer", "sw_version", "hw_version"):
        assert isinstance(dev[k], str) and dev[k], k
    assert dev["hw_version"].startswith("host")
    assert d["o"]["name"] == "vibenode"
    assert d["state_topic"] == "vibenode/plant1/sim-0001/telemetry"
    av = d["availability"]
    assert av[0]["topic"] == "vibenode/plant1/sim-0001/status"
    assert render(av[0]["value_template"], status) == av[0]["payload_available"] == "online"
    cmps = d["cmps"]
    keys = {"vel_x", "vel_y", "vel_z", "acc_rms_x", "acc_rms_y", "acc_rms_z", "acc_pk_x", "acc_pk_y", "acc_pk_z",
            "temp", "iso_zone", "defect", "f0", "queued", "link_failures"}
    assert set(cmps) == keys
    uids = [c["unique_id"] for c in cmps.values()]
    assert len(set(uids)) == len(uids)
    tj = json.loads(tel)
    for key, c in cmps.items():
        assert c["p"] == "sensor" and c["name"]
        assert "object_id" not in c
        assert c["unique_id"] == "vibenode_sim-0001_" + key
        assert re.fullmatch(r"sensor\.[a-z0-9_]+", c["default_entity_id"]), c["default_entity_id"]
        dc = c.get("device_class")
        if dc in UNITS:
            assert c["unit_of_measurement"] in UNITS[dc], (key, c)
        if dc == "enum":
            assert "unit_of_measurement" not in c and "state_class" not in c and c["options"]
        if key.startswith("acc_"):
            assert dc is None and c["unit_of_measurement"] == "m/s\u00b2"  # not "g" (grams)
        if "state_class" in c:
            assert c["state_class"] in STATE_CLASSES
        topic = c.get("state_topic", d["state_topic"])
        src = status if topic.endswith("/status") else tel
        v = render(c["value_template"], src)
        if dc == "enum":
            assert v in c["options"], (key, v)
        elif key == "temp" and "temp_c" not in tj:
            assert v == "None", v  # no temperature sensor on this board: unknown
        else:
            float(v)  # a number
        if key in ("queued", "link_failures"):
            assert c["entity_category"] == "diagnostic"
    # the values are the telemetry's
    assert float(render(cmps["vel_x"]["value_template"], tel)) == tj["x"]["vel"]
    assert abs(float(render(cmps["acc_rms_x"]["value_template"], tel)) - tj["x"]["rms"] * 9.80665) < 1e-3
    assert render(cmps["iso_zone"]["value_template"], tel) == max(tj[a]["iso"] for a in "xyz")
    assert float(render(cmps["f0"]["value_template"], tel)) == max((tj[a]["rms"], tj[a]["f0"]) for a in "xyz")[1]
    assert float(render(cmps["temp"]["value_template"], json.dumps(dict(tj, temp_c=21.5)))) == 21.5
    # a temperature-only reading: the vibration entities render None (HA: unknown), no error
    only_t = json.dumps({"node": "sim-0001", "seq": 9, "ts": 1, "temp_c": 21.5})
    assert render(cmps["vel_x"]["value_template"], only_t) == "None"
    assert render(cmps["iso_zone"]["value_template"], only_t) == "None"
    assert render(cmps["f0"]["value_template"], only_t) == "None"
