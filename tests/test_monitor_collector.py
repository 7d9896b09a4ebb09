"""Collector (tools/vnmon/collector.py) against a real Mosquitto, storing into a real SQLite
file and a real PostgreSQL database (same tests for both): schema validation (invalid messages
counted per node with their reason, never stored as data), dedupe, gaps, capture reassembly,
site/node subscriptions, live-update callbacks, an unreachable broker (backoff, state), a
database outage (bounded buffer, loss counted), and two collectors on one MQTT shared
subscription (no reading stored twice or lost)."""
import json
import sqlite3
import time

import pytest

from conftest import Broker, free_port
from monitor_support import *  # noqa: F401,F403 (fixtures)
from vnmon import synth
from vnmon.collector import Collector
from vnmon.store import Store


def T(site, node, leaf):
    return "vibenode/%s/%s/%s" % (site, node, leaf)


def tel(node, seq, **kw):
    return synth.dumps(synth.telemetry(node, seq, 1764000000 + seq, **kw))


def test_collector_validates_dedupes_and_reassembles(broker, store_url, tmp_path):
    st = Store(store_url)
    c = Collector(st, port=broker.port, name="c-all", health_interval_s=0.2)
    c_site = Collector(Store(store_url), port=broker.port, site="plant2", name="c-site")  # reads only plant2
    c_node = Collector(Store(str(tmp_path / "a.db")), port=broker.port, node="a", name="c-node-a")  # only node a
    news = []
    c.subscribe_updates(news.extend)
    c_site.subscribe_updates(news.extend)  # (plant2's alarm is new to whichever stores it first)
    for x in (c, c_site, c_node):
        x.start()
    pub = Publisher(broker.port)
    try:
        assert wait_until(lambda: all(x.broker["state"] == "connected" for x in (c, c_site, c_node)))
        pub.pub_all([(T("plant1", "a", "status"), synth.dumps(synth.status("a"))),
                     (T("plant1", "a", "telemetry"), tel("a", 1)), (T("plant1", "a", "telemetry"), tel("a", 2)),
                     (T("plant1", "a", "telemetry"), tel("a", 2, replayed=True)),  # duplicate
                     (T("plant1", "a", "telemetry"), tel("a", 5)),  # 3, 4 missing
                     (T("plant1", "a", "telemetry"), b'{"node": "a", "seq": 6, "ts": '),  # not JSON
                     (T("plant1", "a", "telemetry"), synth.dumps(dict(synth.telemetry("a", 7, 1), x={"rms": -1}))),
                     (T("plant1", "a", "telemetry"), tel("b", 8)),  # another node's payload on a's topic
                     (T("plant1", "a", "telemetry"), b'{"node": "a", "seq": NaN}'),
                     (T("plant1", "a", "bogus"), b"{}"),
                     (T("plant1", "a", "cmd"), b'{"id": "x1", "cmd": "ping"}'),  # a command: not node output
                     (T("plant2", "b", "telemetry"), tel("b", 1)),
                     (T("plant2", "b", "alarm"), synth.dumps({"node": "b", "seq": 1, "ts": 1, "metric": "vel", "axis": "x",
                                                             "state": "C", "prev": "B", "value": 3.0, "limit": 2.8}))])
        # a spectrum of two axes in 4 chunks, delivered out of order with one chunk twice
        spec = {"x": [i % 1000 for i in range(2000)], "z": list(range(500))}
        parts = synth.capture_chunks("a", "cap1", 5, "spectrum", spec, 0.0005, per_chunk=1000, df_hz=0.78125)
        assert len(parts) == 3
        pub.pub_all([(T("plant1", "a", "spectrum"), synth.dumps(m)) for m in (parts[2], parts[0], parts[0], parts[1])])
        wave = synth.capture_chunks("a", 9, 5, "waveform", {"y": [-3, 2, 1000]}, 0.004, rate=3200)
        pub.pub_all([(T("plant1", "a", "waveform"), synth.dumps(wave[0]))])
        assert wait_until(lambda: st.latest_capture("a", "waveform") and st.counters()["invalid"].get("a") == 5
                          and st.node("b") is not None and st.alarms("b"))
        a = st.node("a")
        assert a["readings"] == 3 and a["dups"] == 1 and a["lost"] == 2 and a["invalid"] == 5 and a["site"] == "plant1"
        assert [r["seq"] for r in st.readings("a")] == [1, 2, 5]
        assert [(g["first_seq"], g["last_seq"]) for g in st.gaps("a")] == [(3, 4)]
        reasons = sorted(i["reason"] for i in st.invalid("a"))
        assert any("not JSON" in r for r in reasons) and any("x/rms" in r for r in reasons)
        assert any("payload node 'b'" in r for r in reasons) and any("NaN" in r for r in reasons)
        assert any("bogus" in r for r in reasons)
        assert c.health()["invalid"] == 5 and c.health()["received"] >= 18
        cap = st.latest_capture("a", "spectrum")
        assert cap["complete"] and cap["req_id"] == "cap1" and cap["seq"] == 5 and cap["missing"] == []
        assert cap["meta"]["df_hz"] == 0.78125 and cap["meta"]["bins"] == 2000
        assert len(cap["axes"]["x"]) == 2000 and cap["axes"]["x"][1999] == pytest.approx(999 * 0.0005)
        assert cap["axes"]["z"][499] == pytest.approx(499 * 0.0005)
        w = st.latest_capture("a", "waveform")
        assert w["req_id"] == "9" and w["axes"]["y"] == [-0.012, 0.008, 4.0] and w["meta"]["rate"] == 3200
        kinds = {k for k, _, _ in news}
        assert {"reading", "gap", "invalid", "capture", "status", "alarm"} <= kinds
        assert wait_until(lambda: any(h["collector"] == "c-all" and h["invalid"] == 5 for h in st.health()))
        # the site collector saw plant2 only (both store into the same database)
        assert wait_until(lambda: c_site.health()["stored"] >= 2)
        assert c_site.health()["invalid"] == 0 and c_site.health()["received"] == 2
        assert wait_until(lambda: c_node.health()["received"] == 16)  # a's 11 messages + 5 capture chunks
        time.sleep(0.2)
        assert c_node.health()["received"] == 16 and c_node.health()["invalid"] == 5
    finally:
        pub.close()
        for x in (c, c_site, c_node):
            x.stop()
            x.store.close()


def test_collector_unstorable_message_is_invalid_and_blocks_nothing(broker, store_url):
    """A schema-valid message the database cannot hold (seq beyond 64 bits) is refused alone,
    counted as invalid with the database's reason; the rest of its batch is stored."""
    st = Store(store_url)
    c = Collector(st, port=broker.port, name="c-poison").start()
    pub = Publisher(broker.port)
    try:
        assert wait_until(lambda: c.broker["state"] == "connected")
        pub.pub_all([(T("p", "n", "telemetry"), tel("n", 1)), (T("p", "n", "telemetry"), tel("n", 2 ** 70)),
                     (T("p", "n", "telemetry"), tel("n", 2)),
                     (T("p", "n", "spectrum"), synth.dumps(dict(synth.capture_chunks("n", 1, 2, "spectrum", {"x": [1]},
                                                                                      0.1, df_hz=1.0)[0], bins=10 ** 9)))])
        assert wait_until(lambda: st.latest_capture("n") and len(st.readings("n")) == 2 and st.invalid("n")), \
            (st.latest_capture("n"), st.readings("n"), st.invalid("n"), c.health())
        assert [r["seq"] for r in st.readings("n")] == [1, 2]
        inv = st.invalid("n")
        assert len(inv) == 1 and inv[0]["reason"].startswith("not storable") and str(2 ** 70) in inv[0]["payload"]
        assert st.node("n")["invalid"] == 1 and c.health()["invalid"] == 1 and c.health()["errors"] == 0 and c.health()["unstorable"] == 0
        cap = st.latest_capture("n")
        assert not cap["complete"] and "over" in cap["meta"]["errors"][0] and cap["axes"] == {}
    finally:
        pub.close()
        c.stop()
        st.close()


def test_collector_broker_unreachable_backoff_then_connects_and_reconnects(tmp_path):
    port = free_port()
    st = Store(str(tmp_path / "m.db"))
    c = Collector(st, port=port, name="c-retry", backoff_min_s=1, backoff_max_s=2).start()
    broker = None
    try:
        assert wait_until(lambda: c.broker["attempts"] >= 2, timeout=8)
        h = c.health()["broker"]
        assert h["state"] == "down" and "cannot connect" in h["last_error"] and h["retry_s"] == 2
        assert wait_until(lambda: any(x["broker"]["state"] == "down" for x in st.health()), timeout=5)
        broker = Broker(port=port)
        assert wait_until(lambda: c.broker["state"] == "connected", timeout=8)
        pub = Publisher(port)
        pub.pub_all([(T("p", "n", "telemetry"), tel("n", 1))])
        pub.close()
        assert wait_until(lambda: st.readings("n"))
        assert wait_until(lambda: any(x["broker"]["state"] == "connected" for x in st.health()), timeout=5)
        # the broker dies and comes back: the collector notices, reconnects and subscribes again
        broker.kill()
        assert wait_until(lambda: c.broker["state"] != "connected", timeout=5)
        broker.start()
        assert wait_until(lambda: c.broker["state"] == "connected", timeout=8)
        pub = Publisher(port)
        pub.pub_all([(T("p", "n", "telemetry"), tel("n", 2))])
        pub.close()
        assert wait_until(lambda: len(st.readings("n")) == 2)
    finally:
        c.stop()
        if broker:
            broker.stop()


class _Outage:
    """The database unavailable: SQLite locked by another writer; PostgreSQL server stopped."""

    def __init__(self, url, request):
        self.url = url
        self.request = request

    def __enter__(self):
        if self.url.startswith("postgresql"):
            self.pg = self.request.getfixturevalue("pg_cluster")
            self.pg.stop()
        else:
            self.lock = sqlite3.connect(self.url, isolation_level=None)
            self.lock.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *a):
        if self.url.startswith("postgresql"):
            self.pg.start()
        else:
            self.lock.execute("ROLLBACK")
            self.lock.close()


def test_collector_database_outage_buffers_bounded_and_counts_loss(broker, store_url, request):
    st = Store(store_url, timeout=0.3)
    c = Collector(st, port=broker.port, name="c-db", buffer_max=8, health_interval_s=0.3).start()
    pub = Publisher(broker.port)
    try:
        assert wait_until(lambda: c.broker["state"] == "connected")
        pub.pub_all([(T("p", "n", "telemetry"), tel("n", 1))])
        assert wait_until(lambda: st.readings("n"))
        with _Outage(store_url, request):
            pub.pub_all([(T("p", "n", "telemetry"), tel("n", s)) for s in range(2, 8)])
            assert wait_until(lambda: c.health()["buffered"] == 6 and c.db["state"] == "error")
            assert c.health()["buffer_lost"] == 0 and c.db["last_error"]
            pub.pub_all([(T("p", "n", "telemetry"), tel("n", s)) for s in range(8, 14)])
            assert wait_until(lambda: c.health()["buffer_lost"] == 4)
            h = c.health()
            assert h["buffered"] == 8 and h["buffer_lost_readings"] == 4 and h["db"]["state"] == "error"
        # back: 8 stored (the oldest not being written at that moment were dropped: 2..5 while
        # the writer waits between retries), the 4 dropped shown as a gap and as buffer loss
        assert wait_until(lambda: c.db["state"] == "ok" and c.buffered() == 0, timeout=15), c.health()
        seqs = [r["seq"] for r in st.readings("n")]
        gaps = st.gaps("n")
        assert len(seqs) == 9 and seqs[0] == 1 and seqs[-1] == 13 and st.node("n")["lost"] == 4
        assert sorted(seqs + [s for g in gaps for s in range(g["first_seq"], g["last_seq"] + 1)]) == list(range(1, 14))
        assert wait_until(lambda: any(x["buffer_lost"] == 4 for x in st.health()), timeout=5)
    finally:
        pub.close()
        c.stop()
        st.close()


def test_collector_stopped_during_database_outage_counts_what_it_drops(broker, tmp_path):
    url = str(tmp_path / "m.db")
    st = Store(url, timeout=0.2)
    c = Collector(st, port=broker.port, name="c-stop").start()
    pub = Publisher(broker.port)
    lock = sqlite3.connect(url, isolation_level=None)
    try:
        assert wait_until(lambda: c.broker["state"] == "connected")
        lock.execute("BEGIN EXCLUSIVE")
        pub.pub_all([(T("p", "n", "telemetry"), tel("n", s)) for s in (1, 2, 3)])
        assert wait_until(lambda: c.buffered() == 3 and c.db["state"] == "error")
        c.stop(flush_s=0.5)
        h = c.health()
        assert h["buffer_lost"] == 3 and h["buffer_lost_readings"] == 3 and h["buffered"] == 0
    finally:
        lock.close()
        pub.close()
        st.close()


def test_shared_subscription_two_collectors_no_reading_twice_or_lost(broker, store_url):
    cs = [Collector(Store(store_url), port=broker.port, share="monitors", name="c-share-%d" % k).start() for k in (0, 1)]
    pub = Publisher(broker.port)
    nodes, per = ["s%d" % i for i in range(5)], 40
    try:
        assert wait_until(lambda: all(c.broker["state"] == "connected" for c in cs))
        time.sleep(0.3)  # both subscriptions registered
        pub.pub_all([(T("p", n, "telemetry"), tel(n, s)) for s in range(1, per + 1) for n in nodes])
        st = cs[0].store
        assert wait_until(lambda: st.counters()["readings"] == len(nodes) * per, timeout=20)
        time.sleep(0.5)  # anything arriving twice would show now
        got = [c.health()["received"] for c in cs]
        assert sum(got) == len(nodes) * per and min(got) > 0, got  # each message to one member only
        for n in nodes:
            assert [r["seq"] for r in st.readings(n)] == list(range(1, per + 1))
        cnt = st.counters()
        assert sum(cnt["dups"].values()) == 0 and sum(cnt["lost"].values()) == 0 and st.gaps() == []
    finally:
        pub.close()
        for c in cs:
            c.stop()
            c.store.close()


def test_collector_stores_a_real_node_and_its_capture(broker, tmp_path):
    """A host-board node on the MicroPython unix port: every message it sends passes the schemas,
    its readings and birth are stored, and a spectrum capture requested through the collector
    comes back reassembled."""
    from conftest import node_config, start_node, write_fs
    st = Store(str(tmp_path / "m.db"))
    c = Collector(st, port=broker.port, name="c-node").start()
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    node = start_node(fs, cycles=None)
    try:
        assert wait_until(lambda: (st.node("sim-0001") or {}).get("readings", 0) >= 2, timeout=60), \
            node.stdout.read(4000) if node.poll() is not None else "no readings"
        rid = c.request_capture("sim-0001", "spectrum", "x")
        assert wait_until(lambda: st.latest_capture("sim-0001", "spectrum", req_id=rid), timeout=30)
        cap = st.latest_capture("sim-0001", "spectrum", req_id=rid)
        assert cap["complete"] and len(cap["axes"]["x"]) == cap["meta"]["bins"] and cap["meta"]["df_hz"] > 0
        peak = max(range(len(cap["axes"]["x"])), key=lambda i: cap["axes"]["x"][i] or 0)
        assert abs(peak * cap["meta"]["df_hz"] - 1480 / 60.0) < 3 * cap["meta"]["df_hz"]  # imbalance at 1x
        o = st.node("sim-0001")
        assert o["state"] == "online" and o["invalid"] == 0 and o["site"] == "plant1" and o["board"] == "host"
        assert o["rms"]["x"] > 0.5 and o["lost"] == 0
        assert st.events("sim-0001", event="link_up") and st.events("sim-0001", event="ack")[0]["payload"]["id"] == rid
        assert json.loads(json.dumps(st.readings("sim-0001", limit=1, full=True)[0]["payload"]))["node"] == "sim-0001"
    finally:
        node.kill()
        node.wait()
        c.stop()
        st.close()
