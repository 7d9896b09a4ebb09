#!/usr/bin/env python3
"""Monitor bench (`make bench` calls it; alone: .venv/bin/python tools/bench_ingest.py):

1. Collector ingest into SQLite and into PostgreSQL (a private throwaway cluster), through a
   private Mosquitto: 50 nodes reporting every second (50 readings/s), then the same 50 nodes
   ten times faster (500 readings/s offered), then a burst of 10 000 readings (capacity).
   The publisher is synthetic (schema-valid telemetry of the real shape, tools/vnmon/synth.py,
   in a separate process): it measures the collector, not the nodes. Every message is validated
   against the schemas and stored in one transaction per batch, as in production.
   Backlog = collector buffer + messages the broker has not delivered yet (published - received),
   sampled every 0.5 s; "no growth" = the backlog at the end of a phase is not above its start
   by more than one second of offered load.
2. Per-node resident memory and CPU of real simulated nodes (tools/vnmon/fleetsim.py: host-board
   nodes on the MicroPython unix port in real time, 1 reading/s of 2048 samples at 3200 Hz), and
   how many fit on this host.
"""
import json
import os
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

NODES = 50


def publish(port, rate, seconds, nodes, seq0, count, progress):
    """(child process) QoS 1 telemetry of `nodes` nodes at `rate` msgs/s for `seconds`, or `count`
    messages unpaced; progress.value = messages published (PUBACKed) so far."""
    sys.path.insert(0, TOOLS)
    import paho.mqtt.client as mqtt
    from vnmon import synth
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-pub-%d" % os.getpid())
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    c.on_publish = lambda *a: setattr(progress, "value", progress.value + 1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    total = count if count is not None else int(rate * seconds)
    t0 = time.time()
    infos = []
    for i in range(total):
        n = i % nodes
        seq = seq0 + i // nodes
        node = "bench-%03d" % n
        infos.append(c.publish("vibenode/bench/%s/telemetry" % node,
                               synth.dumps(synth.telemetry(node, seq, 1764000000 + seq, k=n)), qos=1))
        if count is None:
            delay = t0 + (i + 1) / rate - time.time()
            if delay > 0:
                time.sleep(delay)
    for info in infos:
        info.wait_for_publish(60)
    c.loop_stop()
    c.disconnect()


def phase(coll, port, rate, seconds, seq0, count=None):
    """Offer load from a publisher process; sample the backlog (published - received by the
    collector + its buffer) every 0.5 s. Returns stored count, wall time, samples, CPU share."""
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    progress = ctx.Value("l", 0, lock=False)
    stored0 = coll.stats["stored"]
    recv0 = coll.stats["received"]
    offered = count if count is not None else int(rate * seconds)
    p = ctx.Process(target=publish, args=(port, rate, seconds, NODES, seq0, count, progress))
    p.start()
    c0 = os.times()
    t0 = time.time()
    samples = []
    pub_end = pub_start = None
    while True:
        time.sleep(0.5)
        recv = coll.stats["received"] - recv0
        samples.append((time.time() - t0, progress.value, max(0, progress.value - recv) + coll.buffered()))
        if pub_start is None and progress.value:
            pub_start = time.time() - t0 - 0.25  # (+- the 0.5 s sampling)
        if pub_end is None and progress.value >= offered:
            pub_end = time.time() - t0
        if not p.is_alive() and coll.stats["stored"] - stored0 >= offered:
            break
        if time.time() - t0 > max(seconds, 10) + 120:
            break
    t1 = time.time()
    c1 = os.times()
    p.join()
    n = coll.stats["stored"] - stored0
    return {"stored": n, "offered": offered, "wall": t1 - t0, "rate": n / (t1 - t0), "samples": samples,
            "pub_s": (pub_end or (t1 - t0)) - (pub_start or 0), "cpu": (c1.user + c1.system - c0.user - c0.system) / (t1 - t0)}


def bench_backend(name, url, port):
    from vnmon.collector import Collector
    from vnmon.store import Store
    coll = Collector(Store(url), port=port, name="bench-%s" % name, persistent=False).start()
    deadline = time.time() + 10
    while coll.broker["state"] != "connected" and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    out = []
    a = phase(coll, port, NODES, 10, 1)
    b = phase(coll, port, NODES * 10, 10, 1 + 10)
    c = phase(coll, port, 0, 0, 1 + 10 + 100, count=10000)
    h = coll.health()
    coll.stop()
    total = coll.store.counters()["readings"]
    cnt = coll.store.counters()
    for label, r, per_s in (("50 nodes x 1/s", a, NODES), ("50 nodes x 10/s", b, NODES * 10)):
        during = [x for x in r["samples"] if x[0] <= r["pub_s"]] or r["samples"]
        k = max(1, len(during) // 3)
        first = sum(x[2] for x in during[:k]) / k
        last = sum(x[2] for x in during[-k:]) / k
        out.append("  %-10s %-16s offered %4d/s: published in %4.1f s (%.0f/s), all %d stored after %4.1f s; backlog "
                   "mean first/last third %.0f/%.0f, max %d (%s); collector CPU %3.0f %%"
                   % (name, label, per_s, r["pub_s"], r["offered"] / r["pub_s"], r["stored"], r["wall"], first, last,
                      max(x[2] for x in r["samples"]), "no growth" if last <= first + per_s else "GROWING",
                      100 * r["cpu"]))
    out.append("  %-10s burst of %d: ingest capacity %.0f readings/s (publish -> stored, %.1f s), collector CPU %3.0f %%"
               % (name, c["offered"], c["rate"], c["wall"], 100 * c["cpu"]))
    want = 10 * NODES + 100 * NODES + 10000
    dups = sum(cnt["dups"].values())
    lost = sum(cnt["lost"].values())
    ok = total == want and h["buffer_lost"] == 0 and h["invalid"] == 0 and dups == 0 and lost == 0
    out.append("  %-10s stored %d readings in all (expected %d), invalid %d, buffer lost %d, dups %d, gaps %d -> %s"
               % (name, total, want, h["invalid"], h["buffer_lost"], dups, lost, "ok" if ok else "MISMATCH"))
    coll.store.close()
    return out, b


def bench_nodes(n=4, warm=8, window=10):
    from vnmon import fleetsim
    d = tempfile.mkdtemp(prefix="vn-bench-fleet-")
    fl = fleetsim.Fleet(n, d, interval=1.0, window=2048)
    try:
        fl.start_broker()
        fl.start_collector(web=False)
        fl.start_nodes()
        time.sleep(warm)
        m = fl.measure(window)
    finally:
        fl.stop()
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    return fleetsim.report(m)


def main():
    from demo import free_port, start_broker
    from vnmon.pgtmp import TempPostgres
    print("monitor bench: collector ingest through Mosquitto (synthetic schema-valid telemetry from %d nodes, "
          "separate publisher process), then real simulated nodes" % NODES, flush=True)
    d = tempfile.mkdtemp(prefix="vn-bench-ingest-")
    port = free_port()
    broker = start_broker(port, d)
    pg = None
    try:
        lines, _ = bench_backend("sqlite", os.path.join(d, "bench.db"), port)
        for ln in lines:
            print(ln, flush=True)
        pg = TempPostgres()
        lines, _ = bench_backend("postgresql", pg.create_db("bench"), port)
        for ln in lines:
            print(ln, flush=True)
    finally:
        broker.kill()
        broker.wait()
        if pg is not None:
            pg.destroy()
    print("  target: >= 500 readings/s with no backlog growth", flush=True)
    print("monitor bench: real simulated nodes (host board, MicroPython unix port, realtime, 1 reading/s of 2048 "
          "samples at 3200 Hz)", flush=True)
    for ln in bench_nodes():
        print("  " + ln.replace("fleet-sim: ", ""), flush=True)


if __name__ == "__main__":
    main()
