#!/usr/bin/env python3
"""Watch a vibenode fleet: the dashboard in the browser (default), or one line per report.

    .venv/bin/python tools/monitor.py [--host 127.0.0.1 --port 1883] [--db monitor.db | postgresql://...]
        [--http-port 8080] [--prefix vibenode] [--site S] [--node N]   # collector + web dashboard
    .venv/bin/python tools/monitor.py --terminal --host 127.0.0.1 --port 1883 [--topic 'vibenode/#']
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def fmt_axis(a):
    if not isinstance(a, dict):
        return "-"
    s = "%.3fg" % a.get("rms", 0)
    if a.get("vel") is not None:
        s += " %.2fmm/s" % a["vel"]
        if a.get("iso"):
            s += "(%s)" % a["iso"]
    if a.get("clipped"):
        s += "!CLIP"
    return s


def format_message(topic, payload):
    """One human line for a vibenode MQTT message (None to skip)."""
    leaf = topic.rsplit("/", 1)[-1]
    parts = topic.split("/")
    node = parts[2] if len(parts) > 3 else topic
    try:
        d = json.loads(payload)
    except ValueError:
        return "%s %-10s %s <%d bytes, not JSON>" % (time.strftime("%H:%M:%S"), node, leaf, len(payload))
    now = time.strftime("%H:%M:%S")
    if leaf == "telemetry" and isinstance(d, dict) and d.get("hb"):  # report by exception (lib/baseline)
        return "%s %-10s #%-5s heartbeat (unchanged since #%s%s)" % (now, node, d.get("seq"), d.get("full"),
                                                                   "" if d.get("running", True) else ", stopped")
    if leaf == "telemetry" and isinstance(d, dict):
        line = "%s %-10s #%-5s rms x %s  y %s  z %s" % (now, node, d.get("seq"), fmt_axis(d.get("x")),
                                                       fmt_axis(d.get("y")), fmt_axis(d.get("z")))
        x = d.get("x") or {}
        if isinstance(x, dict) and x.get("cf") is not None:
            line += "  crest %.2f" % x["cf"]
        if isinstance(x, dict) and x.get("ku") is not None:
            line += "  kurt %.1f" % x["ku"]
        if isinstance(x, dict) and x.get("f0") is not None:
            line += "  dom %.1fHz" % x["f0"]
        env = x.get("env") if isinstance(x, dict) else None
        if isinstance(env, dict) and env.get("dom"):
            line += "  env %s x%.1f%s" % (env["dom"], env.get("r", 0), " ALARM" if env.get("alarm") else "")
        if d.get("temp_c") is not None:
            line += "  %.2fC" % d["temp_c"]
        if d.get("bz") is not None:
            line += "  dev %.1f sigma" % d["bz"]  # baseline: the largest |z| of this window
        if d.get("running") is False:
            line += "  STOPPED"
        if d.get("replayed"):
            line += "  (replayed)"
        return line
    if leaf == "status" and isinstance(d, dict):
        extra = ""
        if d.get("sensors"):
            extra += " sensors=%s" % ",".join(d["sensors"])
        if d.get("engine"):
            extra += " engine=%s" % d["engine"]
        if d.get("errors"):
            extra += " errors=%s" % json.dumps(d["errors"])
        if isinstance(d.get("baseline"), dict):
            b = d["baseline"]
            extra += " baseline=%s learning=%s level=%s%s" % (b.get("state"), b.get("learning"), b.get("level"),
                                                             " DRIFT" if b.get("drift") else "")
        return "%s %-10s STATUS %s%s" % (now, node, d.get("state"), extra)
    if leaf == "alarm" and isinstance(d, dict) and d.get("msg"):  # baseline: the deviating features named
        return "%s %-10s ALARM %s %s -> %s (#%s): %s" % (now, node, d.get("metric"), d.get("prev"), d.get("state"),
                                                         d.get("seq"), d["msg"])
    return "%s %-10s %s %s" % (now, node, leaf.upper(), json.dumps(d)[:160])


class Tracker:
    """Per-node bookkeeping of telemetry sequence numbers: what arrived, what is missing,
    what came from the node's queue (replayed) and what arrived twice (QoS 1 redelivery)."""

    def __init__(self):
        self.seqs = {}
        self.replayed = {}
        self.dups = {}

    def add(self, topic, payload):
        if not topic.endswith("/telemetry"):
            return
        try:
            d = json.loads(payload)
            node, seq = d["node"], int(d["seq"])
        except (ValueError, KeyError, TypeError):
            return
        got = self.seqs.setdefault(node, set())
        if seq in got:
            self.dups[node] = self.dups.get(node, 0) + 1
        got.add(seq)
        if d.get("replayed"):
            self.replayed[node] = self.replayed.get(node, 0) + 1

    def summary(self):
        out = []
        for node in sorted(self.seqs):
            got = self.seqs[node]
            lo, hi = min(got), max(got)
            missing = [s for s in range(lo, hi + 1) if s not in got]
            out.append("node %s: readings #%d..#%d, %d received, %d missing%s, %d replayed from the node's queue, "
                       "%d duplicates" % (node, lo, hi, len(got), len(missing),
                                          (" " + str(missing[:10])) if missing else "", self.replayed.get(node, 0),
                                          self.dups.get(node, 0)))
        return out


def subscribe(host, port, topic, on_line, client_id="vibenode-monitor", tracker=None, persistent=False):
    """paho subscriber printing one line per message. persistent=True keeps a broker session
    (clean_session off, QoS 1) so readings published while the monitor reconnects are kept."""
    import paho.mqtt.client as mqtt
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent)
    c.reconnect_delay_set(min_delay=0.2, max_delay=1)

    def on_message(c, u, m):
        if tracker is not None:
            tracker.add(m.topic, m.payload)
        line = format_message(m.topic, m.payload)
        if line:
            on_line(line)

    c.on_message = on_message
    c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
    c.connect(host, port)
    c.loop_start()
    return c


def start_dashboard(host, port, db="monitor.db", http_host="127.0.0.1", http_port=0, prefix="vibenode",
                    site=None, node=None, retention_s=None):
    """Collector (storing into db) and the web dashboard in this process. Returns (collector,
    server, url); stop_dashboard() ends both."""
    from vnmon.collector import Collector
    from vnmon.store import Store
    from vnmon import web
    store = Store(db, retention_s=retention_s)
    collector = Collector(store, host, port, prefix, site, node).start()
    server, url = web.start(web.create_app(store, collector), http_host, http_port)
    return collector, server, url


def stop_dashboard(collector, server):
    from vnmon import web
    web.stop(server)
    collector.stop()
    collector.store.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="MQTT broker (127.0.0.1)")
    ap.add_argument("--port", type=int, default=1883, help="MQTT port (1883)")
    ap.add_argument("--terminal", action="store_true", help="print one line per message instead of serving the page")
    ap.add_argument("--topic", default="vibenode/#", help="--terminal: topic filter (vibenode/#)")
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (default: Ctrl-C)")
    ap.add_argument("--db", default="monitor.db", help="SQLite file or postgresql://... DSN (monitor.db)")
    ap.add_argument("--http-host", default="127.0.0.1",
                    help="address the page is served on (127.0.0.1; the page has no login: keep it local or behind a proxy)")
    ap.add_argument("--http-port", type=int, default=8080, help="port of the page (8080; 0: a free one)")
    ap.add_argument("--prefix", default="vibenode")
    ap.add_argument("--site", help="only this site")
    ap.add_argument("--node", help="only this node")
    ap.add_argument("--retention-days", type=float, default=0, help="drop stored data older than this (0: keep all)")
    a = ap.parse_args()
    if a.terminal:
        c = subscribe(a.host, a.port, a.topic, lambda l: print(l, flush=True))
    else:
        try:
            collector, server, url = start_dashboard(a.host, a.port, a.db, a.http_host, a.http_port, a.prefix,
                                                     a.site, a.node, a.retention_days * 86400 or None)
        except OSError as e:
            sys.exit("monitor: cannot serve on %s:%d (%s); choose another with --http-port (0: any free port)"
                     % (a.http_host, a.http_port, e.strerror or e))
        if not server.started:
            sys.exit("monitor: the web server did not start on %s:%d" % (a.http_host, a.http_port))
        print("monitor: dashboard at %s (broker %s:%d, store %s; Ctrl-C stops)" % (url, a.host, a.port, a.db),
              flush=True)
    try:
        t0 = time.time()
        while not a.duration or time.time() - t0 < a.duration:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    if a.terminal:
        c.loop_stop()
    else:
        stop_dashboard(collector, server)
    sys.exit(0)


if __name__ == "__main__":
    main()
