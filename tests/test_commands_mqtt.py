"""Commands end to end (host node on the unix port, real Mosquitto, paho), and the MQTT contract:
every message the node sent in the run is validated against schemas/<type>.schema.json with the
jsonschema package, and so is every command we sent (the valid ones must pass the schema, the
rejected ones must fail it, so the schema and the node's validation agree)."""
import base64
import json
import os
import time

import numpy as np
import paho.mqtt.client as mqtt
from jsonschema import Draft202012Validator

from conftest import ROOT, Subscriber, node_config, start_node, write_fs

BASE = "vibenode/plant1/sim-0001/"
SCHEMAS = {}


def schema(name):
    if name not in SCHEMAS:
        with open(os.path.join(ROOT, "schemas", name + ".schema.json")) as f:
            SCHEMAS[name] = Draft202012Validator(json.load(f))
    return SCHEMAS[name]


LEAF_SCHEMA = {"status": "status", "telemetry": "telemetry", "alarm": "alarm", "waveform": "waveform",
               "spectrum": "spectrum", "event": "event", "cmd/ack": "cmd_ack", "cmd": "cmd"}


class Cmd:
    def __init__(self, port, sub):
        self.sub = sub
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="cmd-sender-%d" % os.getpid())
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        self.sent = []

    def send(self, obj, raw=None):
        data = raw if raw is not None else json.dumps(obj).encode()
        self.sent.append((obj, data))
        self.c.publish(BASE + "cmd", data, qos=1).wait_for_publish(5)

    def ack(self, rid, timeout=20):
        m = self.sub.wait_for(lambda m: m[0] == BASE + "cmd/ack" and json.loads(m[1]).get("id") == rid, timeout)
        return json.loads(m[1]) if m else None

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def _chunks(sub, leaf, rid):
    return sorted((json.loads(p) for t, p, r in list(sub.msgs) if t == BASE + leaf and json.loads(p)["id"] == rid),
                  key=lambda m: m["index"])


def test_commands_end_to_end_and_contract(broker, tmp_path):
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port)
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=None)
    cmd = Cmd(broker.port, sub)
    try:
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry", 30), "no telemetry"
        # ping and read config (secrets redacted by name)
        cmd.send({"id": "p1", "cmd": "ping"})
        a = cmd.ack("p1")
        assert a and a["ok"] and a["result"]["seq"] >= 1
        cmd.send({"id": "g1", "cmd": "get_config"})
        a = cmd.ack("g1")
        assert a["ok"] and a["result"]["node_id"] == "sim-0001" and a["result"]["sampling"]["window"] == 2048
        # a bad command: error naming the field, nothing changed
        before = open(os.path.join(fs, "config.json")).read()
        cmd.send({"id": "b1", "cmd": "set", "interval_s": -5})
        a = cmd.ack("b1")
        assert a["ok"] is False and "interval_s" in a["error"]
        cmd.send({"id": "b2", "cmd": "set", "interval_s": 2, "colour": "red"})
        a = cmd.ack("b2")
        assert a["ok"] is False and "colour" in a["error"]
        assert open(os.path.join(fs, "config.json")).read() == before
        # 64 KB through the broker: refused by size, answered with the id found at its start
        big = b'{"id": "big1", "cmd": "ping", "pad": "' + b"x" * 65536 + b'"}'
        cmd.send(None, raw=big)
        a = cmd.ack("big1")
        assert a and a["ok"] is False and "too large" in a["error"]
        # another node's command is ignored; the next one is answered (so it was processed)
        cmd.send({"id": "o1", "cmd": "ping", "node": "sim-0002"})
        cmd.send({"id": "p2", "cmd": "ping"})
        assert cmd.ack("p2")["ok"]
        assert cmd.ack("o1", timeout=0.5) is None
        # thresholds: rms on x is 0.707 g, so warn 0.5 / alarm 0.6 raises an alarm
        cmd.send({"id": "t1", "cmd": "set_thresholds", "hysteresis": 0.1,
                  "rules": [{"metric": "rms", "axis": "x", "warn": 0.5, "alarm": 0.6}]})
        assert cmd.ack("t1")["ok"]
        al = sub.wait_for(lambda m: m[0] == BASE + "alarm" and b'"rms"' in m[1], 20)
        assert al and json.loads(al[1])["state"] == "alarm" and json.loads(al[1])["axis"] == "x"
        # waveform capture: chunks under 4 KB that reassemble into the measured window
        cmd.send({"id": "w1", "cmd": "capture", "kind": "waveform", "axis": "x"})
        assert cmd.ack("w1")["ok"]
        assert sub.wait_for(lambda m: m[0] == BASE + "waveform" and b'"index": 1' in m[1], 20)
        ch = _chunks(sub, "waveform", "w1")
        assert [c["index"] for c in ch] == list(range(ch[0]["total"])) and ch[0]["total"] == 2
        assert all(len(json.dumps(c)) < 4096 for c in ch)
        raw = b"".join(base64.b64decode(c["data"]) for c in ch)
        x = np.frombuffer(raw, "<i2").astype(float) * ch[0]["scale_g"]
        assert len(x) == ch[0]["n"] == 2048
        assert abs(np.sqrt(np.mean((x - x.mean()) ** 2)) - 0.7071) < 0.015  # 1 g peak sine
        f = np.fft.rfftfreq(len(x) * 8, 1 / ch[0]["rate"])[np.argmax(np.abs(np.fft.rfft(x - x.mean(), len(x) * 8)))]
        assert abs(f - 1480 / 60) < 0.5, f
        tel_seqs = [m["seq"] for m in sub.json_on("telemetry")]
        assert ch[0]["seq"] in tel_seqs  # the window of a reading that was reported
        # spectrum capture (the feature engine's amplitude spectrum)
        cmd.send({"id": "s1", "cmd": "capture", "kind": "spectrum", "axis": "x"})
        a = cmd.ack("s1")
        assert a["ok"], a
        assert sub.wait_for(lambda m: m[0] == BASE + "spectrum" and json.loads(m[1])["index"] ==
                            json.loads(m[1])["total"] - 1, 20)
        sp = _chunks(sub, "spectrum", "s1")
        amp = np.frombuffer(b"".join(base64.b64decode(c["data"]) for c in sp), "<u2") * sp[0]["scale_g"]
        k = int(np.argmax(amp))
        assert abs((k + 0.5) * sp[0]["df_hz"] - 1480 / 60) <= sp[0]["df_hz"], (k, sp[0]["df_hz"])
        assert 0.8 < amp[k] < 1.1, amp[k]
        # set interval: applied, persisted, survives the reboot; the sequence continues without a gap
        cmd.send({"id": "i1", "cmd": "set", "interval_s": 2})
        assert cmd.ack("i1")["ok"]
        assert json.load(open(os.path.join(fs, "config.json")))["sampling"]["interval_s"] == 2
        cmd.send({"id": "p3", "cmd": "ping"})
        a = cmd.ack("p3")
        # the watchdog kept being fed through all of the above, also after the interval change
        assert a["result"]["wdt_feeds"] > 0 and a["result"]["wdt_refused"] == 0, a
        cmd.send({"id": "id1", "cmd": "identify", "seconds": 3})
        assert cmd.ack("id1")["ok"]
        cmd.send({"id": "r1", "cmd": "reboot"})
        assert cmd.ack("r1")["ok"]
        st = sub.wait_for(lambda m: m[0] == BASE + "status" and b'"boots": 2' in m[1], 30)
        assert st, "no birth after the reboot"
        st = json.loads(st[1])
        assert st["interval_s"] == 2 and st["boot"]["reset_cause"] == "hard"
        assert any(json.loads(p)["state"] == "rebooting" for t, p, r in list(sub.msgs) if t == BASE + "status")
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry" and json.loads(m[1])["seq"] >= st["seq0"] + 1, 30)
        seqs = sorted(set(m["seq"] for m in sub.json_on("telemetry")))
        assert seqs == list(range(1, seqs[-1] + 1))  # no gap across the deliberate reboot
    finally:
        node.kill()
        node.wait()
        cmd.close()
        sub.close()
    # ---- the contract: every message of the run against its schema --------------------------------
    counts = {}
    for t, p, r in sub.msgs:
        leaf = t[len(BASE):]
        assert leaf in LEAF_SCHEMA, t
        if leaf == "cmd":
            continue
        obj = json.loads(p)
        errs = sorted(schema(LEAF_SCHEMA[leaf]).iter_errors(obj), key=str)
        assert not errs, (t, p[:500], [e.message for e in errs[:3]])
        counts[leaf] = counts.get(leaf, 0) + 1
        if leaf == "telemetry":
            assert len(p) < 1024, len(p)
    for leaf in ("status", "telemetry", "alarm", "waveform", "spectrum", "event", "cmd/ack"):
        assert counts.get(leaf), (leaf, counts)
    # the commands: accepted ones satisfy cmd.schema.json, rejected ones do not
    acks = {}
    for t, p, r in sub.msgs:
        if t == BASE + "cmd/ack":
            a = json.loads(p)
            acks[a["id"]] = a
    for obj, data in cmd.sent:
        if obj is None or obj.get("node") not in (None, "sim-0001"):
            continue
        valid = schema("cmd").is_valid(obj)
        assert valid == acks[obj["id"]]["ok"] or obj["cmd"] == "capture", (obj, acks[obj["id"]])
