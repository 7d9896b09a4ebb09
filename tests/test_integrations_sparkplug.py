"""Sparkplug B edge node (vibenode/sparkplug.py, link/spb.py): what the node publishes on a real
Mosquitto, decoded by an independent decoder: Google's protobuf runtime with the Eclipse Tahu
sparkplug_b.proto as compiled by protoc and shipped on PyPI (sparkplug-b-packets, the same
generated module as pysparkplug's). Every field, and the birth/data/death rules: bdSeq per
connect and in the NDEATH will, seq 0 in NBIRTH then +1 per message wrapping at 255, a broker
outage, a rebirth request, the node's commands over NCMD, a malformed NCMD."""
import json
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import Broker, mpy_case, node_config, start_node, write_fs
from netfaults import BlackholeProxy

sparkplug_b_pb2 = pytest.importorskip("sparkplub_b_packets.core.sparkplug_b_pb2")
Payload = sparkplug_b_pb2.Payload
DT = sparkplug_b_pb2.DataType
GROUP = "plant1"
NODE = "sim-0001"
AXIS = (("Velocity RMS mm/s", "vel"), ("Acceleration RMS g", "rms"), ("Acceleration peak g", "pk"),
        ("Dominant frequency Hz", "f0"), ("ISO zone", "iso"))


class Sub:
    """A subscriber that reconnects quickly (before the node can after an outage)."""

    def __init__(self, port):
        self.msgs = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="spb-test")
        self.c.reconnect_delay_set(0.05, 0.2)
        self.c.on_message = lambda c, u, m: self.msgs.append((m.topic, m.payload, m.retain))
        self.c.on_connect = lambda c, u, f, rc, p=None: (c.subscribe("spBv1.0/#", 1), c.subscribe("vibenode/#", 1))
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        t = time.time() + 5
        while not self.c.is_connected() and time.time() < t:
            time.sleep(0.02)

    def wait(self, pred, timeout=30):
        t = time.time() + timeout
        while time.time() < t:
            for m in list(self.msgs):
                if pred(m):
                    return m
            time.sleep(0.05)
        return None

    def count(self, kind):
        return sum(1 for t, p, r in list(self.msgs) if t.startswith("spBv1.0/%s/%s/" % (GROUP, kind)))

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def topic(kind):
    return "spBv1.0/%s/%s/%s" % (GROUP, kind, NODE)


def decode(p):
    pl = Payload()
    pl.ParseFromString(p)
    return pl


def ncmd(sub, name, dtype, **value):
    pl = Payload()
    pl.timestamp = int(time.time() * 1000)
    m = pl.metrics.add()
    m.name = name
    m.datatype = dtype
    for k, v in value.items():
        setattr(m, k, v)
    sub.c.publish(topic("NCMD"), pl.SerializeToString(), qos=1)


def value(m):
    return None if m.is_null else getattr(m, m.WhichOneof("value"))


def check_birth(pl, bd):
    assert pl.HasField("timestamp") and abs(pl.timestamp / 1000 - 1764000000) < 3600 * 24 * 365 * 5
    assert pl.HasField("seq") and pl.seq == 0
    by = {m.name: m for m in pl.metrics}
    assert len(by) == len(pl.metrics), "metric names unique"
    assert by["bdSeq"].datatype == DT.Value("UInt64") and by["bdSeq"].long_value == bd
    rb = by["Node Control/Rebirth"]
    assert rb.datatype == DT.Value("Boolean") and rb.HasField("boolean_value") and rb.boolean_value is False
    assert by["Node Control/Reboot"].datatype == DT.Value("Boolean")
    assert by["Node Control/Command"].datatype == DT.Value("String")
    aliases = [m.alias for m in pl.metrics if m.name != "bdSeq"]
    assert all(a > 0 for a in aliases) and len(set(aliases)) == len(aliases), aliases
    for ax in "xyz":
        for name, key in AXIS:
            m = by["%s/%s" % (ax, name)]
            assert m.datatype == DT.Value("String" if key == "iso" else "Double"), m
            assert m.timestamp == pl.timestamp
            assert m.is_null or m.WhichOneof("value") == ("string_value" if key == "iso" else "double_value")
    assert by["Temperature C"].datatype == DT.Value("Double")
    assert by["Reading seq"].datatype == DT.Value("UInt64")
    return {m.alias: m.name for m in pl.metrics if m.name != "bdSeq"}


def check_data(pl, names, tel):
    """NDATA: by alias only, every value the JSON telemetry of the same reading carries."""
    got = {}
    for m in pl.metrics:
        assert not m.name and m.alias in names, m
        assert m.timestamp == pl.timestamp
        got[names[m.alias]] = value(m)
    assert got["Reading seq"] == tel["seq"]
    for ax in "xyz":
        for name, key in AXIS:
            assert got["%s/%s" % (ax, name)] == tel[ax][key], (ax, key)
    assert got.get("Temperature C") == tel.get("temp_c")


def test_sparkplug_node_birth_data_death_outage_rebirth_and_commands(tmp_path):
    b = Broker()
    sub = Sub(b.port)
    proxy = BlackholeProxy(b.port)  # the node's way to the broker (closed to it while the test catches up)
    node = None
    try:
        cfg = node_config(proxy.port, sparkplug={"enabled": True, "group": GROUP},
                          link={"backoff_min_s": 0.5, "backoff_max_s": 1}, mqtt={"timeout_s": 2})
        fs = write_fs(str(tmp_path / "fs"), cfg)
        node = start_node(fs)
        assert sub.wait(lambda m: m[0] == topic("NDATA") and decode(m[1]).seq == 2), "no NDATA"
        # a broker outage: the broker dies (no will), the node reconnects with the next bdSeq;
        # its way back opens only once this subscriber is back, so nothing it sends is missed
        b.kill()
        time.sleep(0.5)
        proxy.blackhole(True)
        b.start()
        t = time.time() + 10
        while not sub.c.is_connected() and time.time() < t:
            time.sleep(0.05)
        time.sleep(0.5)  # (its SUBACK)
        proxy.blackhole(False)
        assert sub.wait(lambda m: m[0] == topic("NBIRTH") and decode(m[1]).metrics[0].long_value == 1, 30), \
            "\n".join("%s %s" % (t, decode(p).metrics[0].long_value if t == topic("NBIRTH") else "") for t, p, r in sub.msgs)
        assert sub.wait(lambda m: sub.count("NDATA") > 4, 15)
        n_birth = sub.count("NBIRTH")
        ncmd(sub, "Node Control/Rebirth", DT.Value("Boolean"), boolean_value=True)
        assert sub.wait(lambda m: sub.count("NBIRTH") > n_birth, 15), "no rebirth"
        n_data = sub.count("NDATA")
        assert sub.wait(lambda m: sub.count("NDATA") > n_data + 1, 15), "no NDATA after the rebirth"
        ncmd(sub, "Node Control/Command", DT.Value("String"), string_value=json.dumps({"id": "p1", "cmd": "ping"}))
        sub.c.publish(topic("NCMD"), b"\x12\x05\x0a\x09broken", qos=1)  # a malformed NCMD
        assert sub.wait(lambda m: m[0].endswith("/cmd/ack") and json.loads(m[1]).get("id") == "p1", 15)
        n_data = sub.count("NDATA")
        assert sub.wait(lambda m: sub.count("NDATA") > n_data + 1, 15), "the node stopped after a bad NCMD"
        node.kill()  # power cut: no DISCONNECT, the broker publishes the will
        out, _ = node.communicate(timeout=60)
        assert sub.wait(lambda m: m[0] == topic("NDEATH"), 10), "no NDEATH will"
    finally:
        if node is not None and node.poll() is None:
            node.kill()
            node.communicate()
        sub.close()
        proxy.close()
        b.stop()
    assert "NCMD refused" in out, out[-2000:]
    tel = {}
    for t, p, r in sub.msgs:
        if t.endswith("/telemetry"):
            j = json.loads(p)
            tel[j["seq"]] = j
    ack = [json.loads(p) for t, p, r in sub.msgs if t.endswith("/cmd/ack")]
    assert ack[0]["ok"] is True and "uptime_s" in ack[0]["result"]
    # the sequence rules over everything the node published
    bd = None
    seq = None
    names = None
    births_with_values = []
    kinds = []
    for t, p, r in sub.msgs:
        if not t.startswith("spBv1.0/"):
            continue
        assert not r, "Sparkplug messages are never retained"
        kind = t.split("/")[2]
        assert t == topic(kind)
        if kind == "NCMD":
            continue  # (the test's own)
        kinds.append(kind)
        pl = decode(p)
        if kind == "NBIRTH":
            b_seq = pl.metrics[0].long_value
            assert bd is None or b_seq in (bd, (bd + 1) & 0xFF), "bdSeq: same on rebirth, +1 per connect"
            bd = b_seq
            names = check_birth(pl, bd)
            seq = 0
            vals = {m.name: value(m) for m in pl.metrics}
            if vals["Reading seq"] is not None:  # the last reading's values (after the first birth)
                births_with_values.append(vals["Reading seq"])
                t = tel[vals["Reading seq"]]
                for ax in "xyz":
                    for name, key in AXIS:
                        assert vals["%s/%s" % (ax, name)] == t[ax][key]
        elif kind == "NDATA":
            assert names is not None, "NDATA before any NBIRTH"
            assert pl.seq == (seq + 1) & 0xFF, (pl.seq, seq)
            seq = pl.seq
            check_data(pl, names, tel[[v for v in (value(m) for m in pl.metrics if names[m.alias] == "Reading seq")][0]])
        elif kind == "NDEATH":
            assert not pl.HasField("seq") and len(pl.metrics) == 1
            m = pl.metrics[0]
            assert m.name == "bdSeq" and m.datatype == DT.Value("UInt64") and m.long_value == bd
    assert kinds.count("NBIRTH") == 3, kinds  # boot, after the outage, rebirth
    assert len(births_with_values) == 2, births_with_values
    # the NBIRTH is the first message of each session (before the node's JSON birth on status)
    mine = [(t, p) for t, p, r in sub.msgs if "NCMD" not in t and not t.endswith("/cmd")]
    births = [i for i, (t, p) in enumerate(mine) if t.endswith("/status") and json.loads(p)["state"] == "online"]
    assert len(births) == 2 and all(mine[i - 1][0] == topic("NBIRTH") for i in births), mine[:3]
    assert kinds[kinds.index("NBIRTH", 1) + 1] == "NDATA"
    assert kinds[-1] == "NDEATH" and kinds.count("NDEATH") == 1
    assert bd == 1


def test_ndata_seq_wraps_and_allocates_little(broker):
    """300 readings on the real link: NDATA seq 1..255, 0, 1, ... and heap per NDATA."""
    sub = Sub(broker.port)
    try:
        r = mpy_case("spbnode", "wrap", {"port": broker.port, "node": NODE, "group": GROUP, "count": 300})
        assert sub.wait(lambda m: sub.count("NDATA") >= 300, 20), sub.count("NDATA")
    finally:
        sub.close()
    assert r["ok"] == 300 and r["births"] == 1 and r["bd_next"] == 1, r
    seqs = [decode(p).seq for t, p, _ in sub.msgs if t == topic("NDATA")]
    assert seqs == [(i + 1) & 0xFF for i in range(300)], seqs[250:260]
    print("heap allocated per NDATA: %.0f bytes" % r["alloc_per_ndata"])
    assert r["alloc_per_ndata"] < 800, r  # one big-int timestamp, the topic for the publish; no payload copy


def test_ncmd_reader_against_google_protobuf():
    pays = []
    pl = Payload()
    pl.timestamp = 1764000000123
    pl.seq = 7
    for name, alias, dt, field, v in (("Node Control/Rebirth", 1, "Boolean", "boolean_value", True),
                                      ("Node Control/Command", 3, "String", "string_value", '{"cmd": "ping"}'),
                                      (None, 2, "Boolean", "boolean_value", False),
                                      ("Some/Int", 9, "Int64", "long_value", 2 ** 40)):
        m = pl.metrics.add()
        if name:
            m.name = name
        m.alias = alias
        m.datatype = DT.Value(dt)
        setattr(m, field, v)
    m = pl.metrics.add()  # fields the reader skips: properties, metadata, double
    m.name = "Skip/Me"
    m.datatype = DT.Value("Double")
    m.double_value = 1.5
    m.metadata.content_type = "x"
    m.properties.keys.append("engUnit")
    good = pl.SerializeToString()
    pays = [good.hex(), good[:-3].hex(), "ff"]
    r = mpy_case("spbnode", "decode", {"payloads": pays})
    assert r[0][:4] == [["Node Control/Rebirth", 1, 11, True], ["Node Control/Command", 3, 12, '{"cmd": "ping"}'],
                        [None, 2, 11, False], ["Some/Int", 9, 4, 2 ** 40]]
    assert r[0][4][:3] == ["Skip/Me", None, 10]
    assert r[1].startswith("ValueError") and r[2].startswith("ValueError"), r
