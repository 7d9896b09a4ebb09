"""Monitor store (tools/vnmon/store.py) on a real SQLite file and a real PostgreSQL database:
the same tests against both backends. Deduplication by (node, seq), gaps proven from sequence
numbers (minus the numbers a crash reboot skipped, announced by seq0), late readings that fill
a gap, the dashboard's queries, retention, and concurrent writers (as with shared
subscriptions) that commit a node's readings out of order."""
import threading
import time

from monitor_support import *  # noqa: F401,F403 (fixtures)
from vnmon import synth
from vnmon.store import Store

N = "pump-07"


def tel(seq, **kw):
    return ("telemetry", N, "plant1", time.time(), synth.telemetry(N, seq, 1764000000 + seq, **kw), False)


def test_store_dedupe_gaps_unused_and_late_readings(store_url):
    st = Store(store_url)
    try:
        assert st.backend == ("postgresql" if store_url.startswith("postgresql") else "sqlite")
        rx = time.time()
        news = st.write_batch([("status", N, "plant1", rx, synth.status(N, seq0=1, interval_s=2), False),
                               tel(1), tel(2), tel(3), tel(2, replayed=True), tel(6)])
        kinds = [k for k, _, _ in news]
        assert kinds.count("reading") == 4 and kinds.count("gap") == 1 and kinds.count("status") == 1
        assert [(g["first_seq"], g["last_seq"]) for g in st.gaps(N)] == [(4, 5)]
        # a crash reboot: the birth says the new boot starts at 100; the queue of the old boot
        # is replayed first (7, 8), then the new boot's readings
        st.write_batch([("status", N, "plant1", time.time(), synth.status(N, seq0=100), False),
                        tel(7, replayed=True), tel(8, replayed=True), tel(100), tel(101), tel(104)])
        o = st.node(N)
        assert o["unused"] == 91 and o["lost"] == 2 + 2 and o["dups"] == 1 and o["readings"] == 9
        assert [(g["first_seq"], g["last_seq"]) for g in st.gaps(N)] == [(4, 5), (102, 103)]
        # a late reading inside a gap (a second collector committed it later) shrinks the gap
        st.write_batch([tel(5)])
        assert [(g["first_seq"], g["last_seq"]) for g in st.gaps(N)] == [(4, 4), (102, 103)]
        assert st.node(N)["lost"] == 3 and st.node(N)["last_seq"] == 104
        rows = st.readings(N)
        assert [r["seq"] for r in rows] == [1, 2, 3, 5, 6, 7, 8, 100, 101, 104]
        assert rows[-1]["x_rms"] == synth.axis(0, 0, 104)["rms"] and rows[-1]["x_env_dom"] == "BPFO"
        assert rows[-1]["t"] == 1764000104 and rows[-1]["temp_c"] is not None and "payload" not in rows[-1]
        assert [r["seq"] for r in st.readings(N, limit=3)] == [100, 101, 104]
        full = st.readings(N, limit=1, full=True)[0]
        assert full["payload"]["y"]["vel"] == synth.axis(0, 1, 104)["vel"]
        assert st.readings(N, since=time.time() + 10) == []
        # overview: from the newest reading (104), not the late one (5)
        o = st.nodes_overview()[0]
        m = synth.telemetry(N, 104, 0)
        assert o["node"] == N and o["site"] == "plant1" and o["state"] == "online" and o["online"]
        assert o["last_seq"] == 104 and o["seq0"] == 100 and o["interval_s"] == 1
        assert o["vel"] == {a: m[a]["vel"] for a in "xyz"} and o["rms_max"] == max(m[a]["rms"] for a in "xyz")
        assert o["iso"] == max(m[a]["iso"] for a in "xyz") and o["temp_c"] == m["temp_c"]
        assert o["bearing"]["defect"] == "BPFO" and o["bearing"]["axis"] == "x" and o["bearing"]["amp_g"] > 0
        assert st.counters() == {"invalid": {N: 0}, "dups": {N: 1}, "lost": {N: 3}, "readings": 10}
        # a node that went silent is offline even without its will
        assert st.nodes_overview(now=time.time() + 120)[0]["online"] is False
    finally:
        st.close()


def test_store_alarms_statuses_events_captures_invalid_health(store_url):
    st = Store(store_url)
    try:
        rx = time.time()
        al = {"node": N, "seq": 5, "ts": 1764000005, "metric": "vel", "axis": "x", "state": "C", "prev": "B",
              "value": 3.1, "limit": 2.8}
        birth = synth.status(N, seq0=1)
        st.write_batch([("alarm", N, "plant1", rx, al, False), ("alarm", N, "plant1", rx + 1, dict(al, replayed=True), False),
                        ("status", N, "plant1", rx, birth, False), ("status", N, "plant1", rx + 1, birth, True),
                        ("event", N, "plant1", rx, {"event": "link_up", "node": N, "ts": 1, "queued": 17, "dropped": 0,
                                                    "outage_ms": 5000, "seq": 4}, False),
                        ("ack", N, "plant1", rx, {"id": "r1", "cmd": "ping", "ok": True, "result": {}}, False),
                        ("invalid", N, "plant1", rx, {"topic": "vibenode/plant1/%s/telemetry" % N, "reason": "bad seq",
                                                      "payload": "{}"}, False),
                        ("invalid", "?", None, rx, {"topic": "elsewhere", "reason": "topic outside prefix", "payload": "x"}, False)])
        a = st.alarms(N)
        assert len(a) == 1 and a[0]["state"] == "C" and a[0]["limit"] == 2.8 and a[0]["value"] == 3.1
        assert len(st.statuses(N)) == 1 and st.statuses(N)[0]["payload"]["seq0"] == 1  # retained copy not stored again
        assert st.node(N)["queued"] == 17
        assert st.events(N, event="ack")[0]["payload"]["id"] == "r1"
        assert st.events(N, event="link_up")[0]["payload"]["outage_ms"] == 5000
        st.write_batch([("event", N, "plant1", rx + 2, {"event": "replayed", "node": N, "ts": 2, "count": 17,
                                                        "dropped": 0}, False),
                        ("status", N, "plant1", rx + 3, {"state": "offline", "node": N}, True)])
        o = st.node(N)
        assert o["queued"] == 0 and o["state"] == "offline" and not o["online"] and o["last_seen"] < rx + 3
        assert [s["state"] for s in st.statuses(N)] == ["offline", "online"]
        assert st.counters()["invalid"] == {N: 1, "?": 1}
        assert st.invalid(N)[0]["reason"] == "bad seq"
        cap = {"id": "c1", "kind": "spectrum", "seq": 5, "complete": True,
               "meta": {"df_hz": 1.5625, "bins": 3, "missing": []}, "axes": {"x": [0.1, 0.2, 0.3]}}
        st.write_batch([("capture", N, "plant1", rx, cap, False),
                        ("capture", N, "plant1", rx + 1, dict(cap, id=7, complete=False, axes={"y": [1.0, None, 0.5]},
                                                              meta={"missing": [1]}), False)])
        c = st.latest_capture(N, "spectrum")
        assert c["req_id"] == "7" and not c["complete"] and c["missing"] == [1] and c["axes"] == {"y": [1.0, None, 0.5]}
        c = st.latest_capture(N, "spectrum", req_id="c1")
        assert c["complete"] and c["meta"]["df_hz"] == 1.5625 and c["axes"]["x"] == [0.1, 0.2, 0.3]
        assert st.latest_capture(N, "waveform") is None and len(st.captures(N)) == 2
        st.put_health("c-1", {"buffered": 3, "db": {"state": "ok"}})
        st.put_health("c-1", {"buffered": 4, "db": {"state": "ok"}})
        h = st.health()
        assert len(h) == 1 and h[0]["buffered"] == 4 and h[0]["collector"] == "c-1"
    finally:
        st.close()


def test_store_retention(store_url):
    st = Store(store_url, retention_s=3600)
    try:
        now = time.time()
        old = [("telemetry", N, "plant1", now - 7200, synth.telemetry(N, s, 1764000000 + s), False) for s in (1, 2)]
        new = [("telemetry", N, "plant1", now, synth.telemetry(N, s, 1764000000 + s), False) for s in (3, 4)]
        st.write_batch(old + new + [("event", N, "plant1", now - 7200, {"event": "crash", "node": N, "ts": 1,
                                                                         "boot": 3, "trace": "x"}, False)])
        assert st.prune(now) == 3
        assert [r["seq"] for r in st.readings(N)] == [3, 4] and st.events(N) == []
        assert Store(store_url).prune(now) == 0  # no retention configured: keeps everything
    finally:
        st.close()


def test_store_concurrent_writers_out_of_order(store_url):
    """Two writers (two collectors on a shared subscription) store interleaved halves of the
    same nodes' readings, committing out of order: every reading once, no gap left behind."""
    nodes = ["n%d" % i for i in range(4)]
    stores = [Store(store_url), Store(store_url)]
    errors = []

    def work(k):
        try:
            for s in range(1, 61):
                if s % 2 == k:
                    stores[k].write_batch([("telemetry", n, "p", time.time(), synth.telemetry(n, s, s), False)
                                           for n in nodes])
                    if s % 7 == k:
                        stores[k].write_batch([("telemetry", nodes[0], "p", time.time(),
                                                synth.telemetry(nodes[0], s, s), False)])  # a duplicate
        except Exception as e:  # pragma: no cover (reported below)
            errors.append(e)
    th = [threading.Thread(target=work, args=(k,)) for k in (0, 1)]
    try:
        for t in th:
            t.start()
        for t in th:
            t.join(60)
        assert not errors, errors
        st = stores[0]
        for n in nodes:
            assert [r["seq"] for r in st.readings(n)] == list(range(1, 61))
        assert st.gaps() == []
        c = st.counters()
        assert c["readings"] == 240 and sum(c["lost"].values()) == 0 and c["dups"][nodes[0]] > 0
    finally:
        for s in stores:
            s.close()
