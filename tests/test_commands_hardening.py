"""Commands that must not run (issue 10, items 6 and 8), end to end: the host node on the unix
port, a real Mosquitto, paho as the operator.

- A retained command is never executed: answered once with an error, also after reconnects.
- A state-changing command is applied once per id, also across the reboot it asked for.
- An expired command is refused; a command whose expiry lies ahead runs.
- Ids and payloads that are not printable, well-formed UTF-8 are refused, and no ack the node
  publishes is ever invalid UTF-8."""
import json
import os
import time
from contextlib import contextmanager

import paho.mqtt.client as mqtt

from conftest import Subscriber, node_config, start_node, write_fs
from test_commands_mqtt import BASE, Cmd, schema


def _acks(sub, rid=None):
    out = []
    for t, p, r in list(sub.msgs):
        if t == BASE + "cmd/ack":
            a = json.loads(p)
            if rid is None or a.get("id") == rid:
                out.append(a)
    return out


def _boots(sub):
    return sorted(set(json.loads(p)["boot"]["boots"] for t, p, r in list(sub.msgs)
                      if t == BASE + "status" and b'"online"' in p))


def _kick(port):
    """Connect with the node's client id: the broker drops the node's session, it reconnects and
    subscribes again, and the broker hands it the retained messages on cmd once more."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sim-0001")
    c.connect("127.0.0.1", port)
    c.loop_start()
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()


@contextmanager
def live_node(broker, tmp_path):
    """A node running on the host board, publishing telemetry: (subscriber, operator's Cmd)."""
    sub = Subscriber(broker.port)
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    node = start_node(fs, cycles=None)
    cmd = Cmd(broker.port, sub)
    try:
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry", 30), "no telemetry"
        yield sub, cmd
    finally:
        node.kill()
        node.wait()
        cmd.close()
        sub.close()


def test_retained_reboot_is_refused_once_and_never_run(broker, tmp_path):
    sub = Subscriber(broker.port)
    op = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="operator")
    op.connect("127.0.0.1", broker.port)
    op.loop_start()
    op.publish(BASE + "cmd", json.dumps({"id": "rr1", "cmd": "reboot"}), qos=1, retain=True).wait_for_publish(5)
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    node = start_node(fs, cycles=None)
    try:
        assert sub.wait_for(lambda m: m[0] == BASE + "cmd/ack", 30), "no ack for the retained command"
        connects0 = len([1 for t, p, r in list(sub.msgs) if t == BASE + "status" and b'"online"' in p])
        for _ in range(3):  # three reconnects: the broker delivers the retained command each time
            _kick(broker.port)
            time.sleep(1.5)
        assert sub.wait_for(lambda m: m[0] == BASE + "status" and b'"online"' in m[1] and
                            len([1 for t, p, r in list(sub.msgs) if t == BASE + "status" and b'"online"' in p])
                            > connects0, 20), "the node did not reconnect after the takeover"
        tel = sub.json_on("telemetry")
        assert tel, "no telemetry"
        acks = _acks(sub, "rr1")
        assert len(acks) == 1, acks  # answered once
        assert acks[0]["ok"] is False and "retain" in acks[0]["error"], acks
        assert not list(schema("cmd_ack").iter_errors(acks[0]))
        assert _boots(sub) == [1], _boots(sub)  # never rebooted
        assert not any(b'"rebooting"' in p for t, p, r in list(sub.msgs) if t == BASE + "status")
        # a live command (not retained) still works
        cmd = Cmd(broker.port, sub)
        cmd.send({"id": "p1", "cmd": "ping"})
        assert cmd.ack("p1")["ok"]
        cmd.close()
    finally:
        op.publish(BASE + "cmd", b"", qos=1, retain=True).wait_for_publish(5)
        op.loop_stop()
        op.disconnect()
        node.kill()
        node.wait()
        sub.close()


def test_same_id_applied_once_even_across_a_reboot(broker, tmp_path):
    with live_node(broker, tmp_path) as (sub, cmd):
        cmd.send({"id": "cap1", "cmd": "capture", "kind": "spectrum", "axis": "x"})
        a = cmd.ack("cap1")
        assert a["ok"] and "duplicate" not in a, a
        assert sub.wait_for(lambda m: m[0] == BASE + "spectrum" and json.loads(m[1])["id"] == "cap1", 20)
        time.sleep(1)
        n_chunks = len([1 for t, p, r in list(sub.msgs) if t == BASE + "spectrum"])
        cmd.send({"id": "cap1", "cmd": "capture", "kind": "spectrum", "axis": "x"})
        assert sub.wait_for(lambda m: len(_acks(sub, "cap1")) == 2, 20)
        a2 = _acks(sub, "cap1")[1]
        assert a2["ok"] is True and a2.get("duplicate") is True, a2
        assert not list(schema("cmd_ack").iter_errors(a2))
        # a few more readings: no second capture was made for the same id
        seq = max(m["seq"] for m in sub.json_on("telemetry"))
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry" and json.loads(m[1])["seq"] >= seq + 3, 30)
        assert len([1 for t, p, r in list(sub.msgs) if t == BASE + "spectrum"]) == n_chunks
        # reboot once; the same id after the reboot is a duplicate, not a second reboot
        cmd.send({"id": "rb1", "cmd": "reboot"})
        assert cmd.ack("rb1")["ok"]
        assert sub.wait_for(lambda m: m[0] == BASE + "status" and b'"boots": 2' in m[1], 30), "no reboot"
        cmd.send({"id": "rb1", "cmd": "reboot"})
        assert sub.wait_for(lambda m: len(_acks(sub, "rb1")) == 2, 20)
        assert _acks(sub, "rb1")[1].get("duplicate") is True
        cmd.send({"id": "p9", "cmd": "ping"})  # processed after rb1's duplicate: no reboot in between
        assert cmd.ack("p9")["ok"]
        time.sleep(2)
        assert _boots(sub) == [1, 2], _boots(sub)
        # a read-only command may repeat its id freely
        cmd.send({"id": "p9", "cmd": "ping"})
        assert sub.wait_for(lambda m: len(_acks(sub, "p9")) == 2, 20)
        assert "duplicate" not in _acks(sub, "p9")[1]


def test_expiry_and_utf8(broker, tmp_path):
    with live_node(broker, tmp_path) as (sub, cmd):
        now = max(m["ts"] for m in sub.json_on("telemetry"))
        cmd.send({"id": "e1", "cmd": "identify", "seconds": 1, "expires": now - 60})
        a = cmd.ack("e1")
        assert a["ok"] is False and "expire" in a["error"], a
        cmd.send({"id": "e2", "cmd": "identify", "seconds": 1, "expires": now + 3600})
        assert cmd.ack("e2")["ok"]
        cmd.send({"id": "e3", "cmd": "ping", "expires": "soon"})
        a = cmd.ack("e3")
        assert a["ok"] is False and a["error"].startswith("expires:"), a
        # ids that are not printable UTF-8: refused, not echoed
        bad = [b'{"id": "\xc0\xaf", "cmd": "ping"}',  # overlong '/'
               b'{"id": "\\ud800", "cmd": "ping"}',  # lone surrogate
               b'{"id": "a\\u0085b", "cmd": "ping"}',  # C1 control
               b'{"id": "u4", "cmd": "ping", "\\udfff": 1}',  # unknown field that is no text
               b'{"id": "u5", "cmd": "\xff\xfe"}']  # no UTF-8 at all
        for raw in bad:
            cmd.send(None, raw=raw)
        cmd.send({"id": "u6", "cmd": "ping"})
        assert cmd.ack("u6")["ok"]
        time.sleep(0.5)
        raws = [p for t, p, r in list(sub.msgs) if t == BASE + "cmd/ack"]
        for p in raws:
            p.decode("utf-8")  # strict: raises on an invalid ack
        acks = [json.loads(p) for p in raws]
        refused = [a for a in acks if a["ok"] is False and a["id"] in (None, "u4")]
        assert len(refused) >= len(bad) - 1, acks  # u5's payload has no readable id either
        for a in acks:
            assert not list(schema("cmd_ack").iter_errors(a)), a
        # the schema agrees with the node on ids
        for rid in ("\ud800", "a\u0085b", "x" * 65, ""):
            assert not schema("cmd").is_valid({"id": rid, "cmd": "ping"}), rid
        assert schema("cmd").is_valid({"id": "pump-07 réglage €", "cmd": "ping", "expires": 1})


def test_a_command_without_heap_for_its_answer_is_dropped_not_a_crash():
    """Not even the error ack fits (the handler's MemoryError escapes reply()): that command is
    dropped and counted (cmd_dropped), the next ones are answered, the node is not taken down."""
    from conftest import MPYTESTS, mpy_result
    with open(os.path.join(MPYTESTS, "cmdnomem.py")) as f:
        res = mpy_result(f.read(), extra_path=(MPYTESTS,))
    assert res["dropped"] == 1 and res["answered"] == 2, res
    assert res["acks"] == ["p1", "p2"], res
