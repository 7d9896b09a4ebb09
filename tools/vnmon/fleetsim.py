"""Fleet simulation: `make fleet-sim N=<count>` runs this.

N host-board nodes (separate MicroPython unix-port processes running boards/host hostboot, each
with its own filesystem dir and config) measure their own simulated machines in real time and
report to one broker; the collector stores them (SQLite file, or PostgreSQL with --db DSN) and
the dashboard shows them when it is installed (tools/vnmon/web.py). Machines, in turn:
healthy, imbalanced, misaligned, outer-race defect, inner-race defect, overheating, and one that
starts and stops (a generated recording: run-up, running, coast-down, standstill, looped through
the host board's replay, boards/host/recording.py). --tls: mutual TLS with per-node
certificates from the fleet tooling (tools/fleet.py: CA, broker certificate, one client
certificate per node, the collector as an operator, the broker's ACL).

After --measure-after seconds it prints per-node resident memory and CPU (from /proc) and how
many such nodes fit on this host, and whether the collector keeps up.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
MPY = os.path.join(ROOT, ".venv", "bin", "micropython")
RPM = 1480
BEARING = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}
BASE = {"rpm": RPM, "imbalance_g": [0.02, 0.016, 0.004], "misalign_g": [0.004, 0.006, 0.002], "noise_g": 0.01,
        "gravity_g": [0.0, 0.0, 1.0], "temperature": {"start_c": 38.0, "drift_c_per_h": 0.5}}


def _sim(**over):
    d = json.loads(json.dumps(BASE))
    d.update(over)
    return d


# name -> the board.sim section of its nodes (start_stop: filled in with its recording)
MACHINES = [
    ("healthy", _sim()),
    ("imbalance", _sim(imbalance_g=[0.12, 0.1, 0.02])),
    ("misalignment", _sim(misalign_g=[0.12, 0.16, 0.09])),
    ("outer_race", _sim(bearing={"multiple": BEARING["BPFO"], "impulse_g": 0.8, "resonance_hz": 1200, "decay_ms": 1.5})),
    ("inner_race", _sim(bearing={"multiple": BEARING["BPFI"], "impulse_g": 0.8, "resonance_hz": 1200, "decay_ms": 1.2})),
    ("overheating", _sim(temperature={"start_c": 68.0, "drift_c_per_h": 180.0})),
    ("start_stop", None),
]


def start_stop_recording(path, rate=3200, period_s=40.0, scale_g=0.0005):
    """A machine that starts and stops, looped every period_s: run-up to RPM (5 % of the period),
    running (40 %), coast-down (10 %), standing (45 %, noise only); int16 x/y/z at `rate` Hz (the
    host board's replay format)."""
    import numpy as np
    n = int(rate * period_s)
    t = np.arange(n) / rate
    f1 = RPM / 60.0
    speed = np.interp(t, [0, 0.05 * period_s, 0.45 * period_s, 0.55 * period_s, period_s], [0, 1, 1, 0, 0])
    phase = 2 * np.pi * f1 * np.cumsum(speed) / rate
    rng = np.random.default_rng(7)
    sig = np.zeros((n, 3))
    for ax, (imb, mis) in enumerate(zip([0.15, 0.12, 0.02], [0.03, 0.04, 0.01])):
        sig[:, ax] = speed ** 2 * (imb * np.sin(phase + ax) + mis * np.sin(2 * phase + 0.7 * ax))
    sig += rng.normal(0, 0.008, sig.shape)
    sig[:, 2] += 1.0
    np.save(path, np.clip(np.round(sig / scale_g), -32768, 32767).astype("<i2"))
    return {"path": os.path.abspath(path), "rate_hz": rate, "scale_g": scale_g, "loop": True}


def node_config(node_id, site, machine, host, port, interval, window, tls):
    sim = dict(machine)
    sim["seed"] = 1 + zlib.crc32(node_id.encode()) % 60000
    cfg = {"node_id": node_id, "site": site,
           "mqtt": {"host": host, "port": port, "prefix": "vibenode", "keepalive": 30},
           "sampling": {"rate": 3200, "range_g": 16, "window": window, "interval_s": interval},
           "features": {"rpm": RPM, "velocity": {"band": [10, 1000], "group": 2, "foundation": "rigid"},
                        "bearing": {"multiples": BEARING}, "envelope": {"harmonics": 3}},
           "board": {"name": "host", "realtime": True, "chips": ["adxl345@spi1:5", "tmp117@i2c0:0x48"], "sim": sim}}
    if tls:
        cfg["tls"] = {"enabled": True, "ca": "ca.pem", "cert": "client.pem"}
    return cfg


def proc_stats(pid):
    """(rss bytes, cpu seconds user+system) of a process from /proc."""
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("VmRSS:"))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Fleet:
    """The broker, the node processes, the collector (and the dashboard if present)."""

    def __init__(self, n, workdir, interval=1.0, window=2048, tls=False, db=None, host=None, port=None,
                 site_size=10, start_stop_s=40.0):
        sys.path.insert(0, TOOLS)
        self.n, self.dir, self.tls = n, workdir, tls
        self.host, self.port = host or ("localhost" if tls else "127.0.0.1"), port
        self.interval, self.window, self.site_size = interval, window, site_size
        self.db = db or os.path.join(workdir, "fleet.db")
        self.pg = None  # a throwaway PostgreSQL cluster (db "pg")
        self.nodes = []  # (id, machine, Popen)
        self.broker = None
        self.collector = None
        self.server = self.url = None
        self.start_stop_s = start_stop_s

    def start_broker(self):
        from demo import free_port, start_broker
        if self.port:
            return
        self.port = free_port()
        bdir = os.path.join(self.dir, "broker")
        os.makedirs(bdir)
        if not self.tls:
            self.broker = start_broker(self.port, bdir)
            return
        import getpass
        import fleet as fleetmod
        f = self.pki = fleetmod.Fleet(os.path.join(self.dir, "pki"))
        f.init(name="fleet-sim CA")
        f.issue_server("localhost", ips=["127.0.0.1"])
        f.issue("vnmon", "", role="operator")
        for i in range(self.n):
            nid, site = self.node_id(i)
            f.issue(nid, site)
        conf = f.mosquitto(bdir, port=self.port, bind="127.0.0.1", run_as=getpass.getuser())
        exe = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else shutil.which("mosquitto")
        self.broker = subprocess.Popen([exe, "-c", conf], stdout=open(os.path.join(bdir, "broker.log"), "ab"),
                                       stderr=subprocess.STDOUT)
        time.sleep(0.5)

    def node_id(self, i):
        return "sim-%04d" % (i + 1), "plant%d" % (i // self.site_size + 1)

    def start_collector(self, web=True, http_port=0):
        from vnmon.collector import Collector
        from vnmon.store import Store
        tls = None
        if self.tls:
            d = self.pki.p("nodes", "vnmon")
            tls = {"ca": self.pki.p("ca.pem"), "cert": os.path.join(d, "client.pem"), "key": os.path.join(d, "client.key")}
        if self.db == "pg":
            from vnmon.pgtmp import TempPostgres
            self.pg = TempPostgres()
            self.db = self.pg.create_db("fleet")
        self.collector = Collector(Store(self.db), self.host, self.port, name="fleet-sim", tls=tls).start()
        if web:
            try:
                from vnmon import web as webmod
            except ImportError:
                return
            self.server, self.url = webmod.start(webmod.create_app(self.collector.store, self.collector),
                                                 "127.0.0.1", http_port)

    def start_nodes(self):
        import build as buildmod
        buildmod.build("host", quiet=True)
        env = dict(os.environ)
        env["MICROPYPATH"] = os.path.join(ROOT, "build", "host", "lib") + ":" + os.path.join(ROOT, ".venv", "mpylib")
        rec = None
        for i in range(self.n):
            nid, site = self.node_id(i)
            name, sim = MACHINES[i % len(MACHINES)]
            if sim is None:
                if rec is None:
                    rec = start_stop_recording(os.path.join(self.dir, "start_stop.npy"), period_s=self.start_stop_s)
                sim = dict(BASE, recording=rec)
            fs = os.path.join(self.dir, "nodes", nid)
            os.makedirs(fs)
            cfg = node_config(nid, site, sim, self.host, self.port, self.interval, self.window, self.tls)
            if self.tls:
                ca, cert, key = self.pki.node_files(nid)
                for fn, data in (("ca.pem", ca), ("client.pem", cert)):
                    with open(os.path.join(fs, fn), "wb") as f:
                        f.write(data)
                with open(os.path.join(fs, "secrets.json"), "w") as f:
                    json.dump({"client_key": key.decode()}, f)
            with open(os.path.join(fs, "config.json"), "w") as f:
                json.dump(cfg, f, indent=1)
            log = open(os.path.join(fs, "node.log"), "w")
            p = subprocess.Popen([MPY, "-c", "import hostboot; hostboot.run()"], cwd=fs, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
            self.nodes.append((nid, name, p))

    def measure(self, seconds):
        """Per-node RSS and CPU over `seconds`, the collector's CPU, and stored readings/s."""
        st = self.collector.store
        before = {nid: proc_stats(p.pid) for nid, _, p in self.nodes if p.poll() is None}
        c0, r0, t0 = os.times(), st.counters()["readings"], time.time()
        time.sleep(seconds)
        c1, r1, t1 = os.times(), st.counters()["readings"], time.time()
        rows = []
        for nid, name, p in self.nodes:
            if nid in before and p.poll() is None:
                rss, cpu = proc_stats(p.pid)
                rows.append((nid, name, rss, (cpu - before[nid][1]) / (t1 - t0)))
        wall = t1 - t0
        return {"nodes": rows, "wall_s": wall, "readings_per_s": (r1 - r0) / wall,
                "expected_per_s": len(self.nodes) / self.interval,
                "collector_cpu": (c1.user + c1.system - c0.user - c0.system) / wall,
                "buffered": self.collector.buffered(), "health": self.collector.health()}

    def stop(self, keep_db=False):
        """Stop everything (idempotent); keep_db: a throwaway PostgreSQL stays up (destroy_db())."""
        if self.server is not None:
            from vnmon import web as webmod
            webmod.stop(self.server)
            self.server = None
        for _, _, p in self.nodes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self.collector is not None and self.collector.broker["state"] != "stopped":
            self.collector.stop()
        if self.broker is not None:
            self.broker.kill()
            self.broker.wait()
            self.broker = None
        if not keep_db:
            self.destroy_db()

    def destroy_db(self):
        if self.pg is not None:
            self.pg.destroy()
            self.pg = None


def report(m, n_cpu=None):
    rows = m["nodes"]
    if not rows:
        return ["fleet-sim: no node running"]
    rss = sorted(r[2] for r in rows)
    cpu = sorted(r[3] for r in rows)
    n_cpu = n_cpu or os.cpu_count()
    with open("/proc/meminfo") as f:
        avail = next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith("MemAvailable:"))
    mean_cpu = sum(cpu) / len(cpu)
    mean_rss = sum(rss) / len(rss)
    out = ["fleet-sim: %d nodes over %.0f s: node RSS mean %.1f MB (min %.1f, max %.1f); node CPU mean %.1f %% of a core "
           "(min %.1f, max %.1f)" % (len(rows), m["wall_s"], mean_rss / 1e6, rss[0] / 1e6, rss[-1] / 1e6,
                                     100 * mean_cpu, 100 * cpu[0], 100 * cpu[-1]),
           "fleet-sim: collector stored %.1f readings/s (nodes send %.1f/s), CPU %.1f %% of a core, buffer %d, lost %d"
           % (m["readings_per_s"], m["expected_per_s"], 100 * m["collector_cpu"], m["buffered"],
              m["health"]["buffer_lost"]),
           "fleet-sim: fit on this host (%d cores, %.1f GB available): ~%d nodes by CPU (all cores), ~%d by memory"
           % (n_cpu, avail / 1e9, int(n_cpu / mean_cpu) if mean_cpu else 0, int(avail / mean_rss))]
    return out


def overview_lines(fl, limit=14):
    """One line per node (the first `limit`): its machine and what the store says about it."""
    machine = {nid: name for nid, name, _ in fl.nodes}
    out = []
    for o in fl.collector.store.nodes_overview()[:limit]:
        b = o["bearing"] or {}
        out.append("fleet-sim: %-9s %-12s %3d readings  vel %s mm/s (ISO %s)  rms %s g  %s C  envelope %s %s"
                   % (o["node"], machine.get(o["node"], "?"), o["readings"], _f(o["vel_max"]), o["iso"],
                      _f(o["rms_max"]), _f(o["temp_c"]), b.get("defect") or "-", "x%.1f" % b["ratio"] if b else ""))
    return out


def _f(v):
    return "-" if v is None else "%.3g" % v


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=7, help="nodes (7: one of each machine)")
    ap.add_argument("--interval", type=float, default=5.0, help="seconds between readings per node (5)")
    ap.add_argument("--window", type=int, default=2048, help="samples per window (2048 at 3200 Hz)")
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (default: Ctrl-C)")
    ap.add_argument("--measure-after", type=float, default=20, help="measure per-node RSS/CPU after this warm-up")
    ap.add_argument("--measure-for", type=float, default=20, help="... over this many seconds")
    ap.add_argument("--tls", action="store_true", help="mutual TLS with per-node certificates (tools/fleet.py)")
    ap.add_argument("--db", help="SQLite file or postgresql://... DSN (default: a file in the work dir; "
                                 "pg: a throwaway PostgreSQL cluster)")
    ap.add_argument("--http-port", type=int, default=0, help="dashboard port (0: a free one)")
    ap.add_argument("--no-web", action="store_true", help="collector only, no dashboard")
    a = ap.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="vibenode-fleet-")
    fl = Fleet(a.n, workdir, a.interval, a.window, a.tls, a.db)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *x: stop.update(now=True))
    try:
        fl.start_broker()
        print("fleet-sim: broker %s:%d%s, work dir %s" % (fl.host, fl.port, " (mutual TLS)" if a.tls else "", workdir),
              flush=True)
        fl.start_collector(web=not a.no_web, http_port=a.http_port)
        print("fleet-sim: collector storing into %s%s" % (fl.db, "; dashboard %s" % fl.url if fl.url else ""), flush=True)
        fl.start_nodes()
        names = {}
        for _, name, _ in fl.nodes:
            names[name] = names.get(name, 0) + 1
        print("fleet-sim: %d nodes started (%s)" % (len(fl.nodes), ", ".join("%s x%d" % kv for kv in names.items())),
              flush=True)
        t0 = time.time()
        measured = False
        while not stop["now"] and (not a.duration or time.time() - t0 < a.duration):
            if not measured and time.time() - t0 >= a.measure_after:
                measured = True
                for line in report(fl.measure(a.measure_for)):
                    print(line, flush=True)
                continue
            dead = [nid for nid, _, p in fl.nodes if p.poll() is not None]
            if dead:
                print("fleet-sim: node(s) exited: %s (logs in %s/nodes/<id>/node.log)" % (", ".join(dead), workdir))
                break
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        fl.stop(keep_db=True)
        c = fl.collector
        if c is not None:
            for line in overview_lines(fl):
                print(line, flush=True)
            h = c.health()
            print("fleet-sim: stored %d messages, %d invalid, buffer lost %d; nodes: %s" % (
                h["stored"], h["invalid"], h["buffer_lost"],
                ", ".join("%s %d readings" % (o["node"], o["readings"]) for o in c.store.nodes_overview()[:8])
                + (" ..." if fl.n > 8 else "")), flush=True)
            c.store.close()
        fl.destroy_db()
        if not a.db or a.db == "pg":
            shutil.rmtree(workdir, ignore_errors=True)
        print("fleet-sim: stopped; nodes, broker and collector cleaned up", flush=True)


if __name__ == "__main__":
    main()
