"""The dashboard: a Starlette (ASGI) app served by uvicorn. A fleet overview and one page per
node (static HTML + JavaScript in static/), JSON APIs over the store's query API (store.py), a
Server-Sent Events stream for live updates, and capture requests to a node over MQTT (`cmd`, sent through the collector's connection).
Plotly's JavaScript is served from the installed `plotly` wheel: no CDN, works offline.

    app = create_app(store, collector=collector)  # collector: vnmon.collector.Collector (or None)
    server, url = start(app, "127.0.0.1", 0)      # uvicorn in a thread; port 0 = a free one
    ...; stop(server)

Routes: /  /node/<id>  /static/*  /api/fleet  /api/node/<id>  POST /api/node/<id>/capture
{"kind": "spectrum"|"waveform"|"envelope", "axis": "x"|"y"|"z"|"all"} (envelope: a wide-band node's
streamed envelope spectrum)  /api/stream[?node=<id>] (SSE
events `fleet` and `node`; the node event carries only what is new since the last one).
"""
import asyncio
import json
import os
import socket
import threading
import time

import plotly
from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vnmon import analysis
from vnmon.sqldb import DbError

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
PLOTLY_JS = os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js")
TREND_POINTS = 600      # readings per trend on first load
CMD_TIMEOUT_S = 30.0    # a command without its ack (or a capture without its data) after this: no answer


def _sig(v, d=4):
    if v is None or v != v:
        return None
    return float("%.*g" % (d, v))


class Dashboard:
    """What the routes answer, computed from the store (blocking calls: run in a thread pool)."""

    def __init__(self, store, collector=None):
        self.store = store
        self.collector = collector
        self.version = 0            # bumped on every collector update (wakes the streams)
        self.cmds = {}              # node -> the last capture request from this dashboard
        self.config_asked = {}      # node -> when get_config was last sent
        self.env_cache = {}
        self.lock = threading.Lock()
        if collector is not None:
            collector.subscribe_updates(self._updated)

    def _updated(self, *_):
        self.version += 1

    # ---- health -------------------------------------------------------------------------
    def health(self, db_error=None):
        """Broker, database and schema-violation state for the banner on every page: from the
        collector in this process, else from the latest health a collector wrote to the store."""
        h = {}
        if self.collector is not None:
            h = self.collector.health()
        else:
            try:
                rows = self.store.health()
                h = max(rows, key=lambda r: r.get("rx") or 0) if rows else {}
            except DbError as e:
                db_error = db_error or str(e)
        b, d = h.get("broker") or {}, h.get("db") or {}
        out = {"broker": {"ok": b.get("state") == "connected", "state": b.get("state", "no collector"),
                          "url": b.get("url", ""), "error": None if b.get("state") == "connected" else b.get("last_error"),
                          "retry_s": b.get("retry_s") if b.get("state") == "down" else None},
               "db": {"ok": db_error is None and d.get("state", "ok") == "ok", "kind": self.store.backend,
                      "error": db_error or (d.get("last_error") if d.get("state") == "error" else None),
                      "buffered": h.get("buffered", 0), "lost": h.get("buffer_lost_readings", 0)},
               "invalid": h.get("invalid", 0), "invalid_last": None, "readings": h.get("stored", 0)}
        if out["invalid"] and db_error is None:
            try:
                last = self.store.invalid(limit=1)
                out["invalid_last"] = last and "%s: %s" % (last[0]["topic"], last[0]["reason"][:120])
            except DbError as e:
                out["db"].update(ok=False, error=str(e))
        return out

    # ---- fleet --------------------------------------------------------------------------
    @staticmethod
    def row(d):
        st = "online" if d.get("online") else ("rebooting" if d.get("state") == "rebooting" else "offline")
        b = d.get("bearing") or {}
        return {"node": d["node"], "site": d.get("site"), "state": st, "last_seen": d.get("last_seen"),
                "iso": d.get("iso"), "vel": d.get("vel_max"), "rms": d.get("rms_max"), "temp_c": d.get("temp_c"),
                "env_dom": b.get("defect"), "env_a": b.get("amp_g"), "env_r": b.get("ratio"),
                "env_alarm": b.get("alarm"), "anomaly": d.get("anomaly"), "queued": d.get("queued"),
                "invalid": d.get("invalid", 0), "readings": d.get("readings", 0), "lost": d.get("lost", 0),
                "fw": d.get("fw"), "board": d.get("board"), "errors": d.get("errors") or {},
                "interval_s": d.get("interval_s")}

    def fleet(self):
        try:
            nodes = [self.row(d) for d in self.store.nodes_overview()]
            err = None
        except DbError as e:
            nodes, err = [], str(e)
        h = self.health(err)
        if self.collector is None:
            h["invalid"] = sum(n["invalid"] for n in nodes)
            h["readings"] = sum(n["readings"] for n in nodes)
        return {"health": h, "nodes": nodes}

    # ---- one node -----------------------------------------------------------------------
    def node_config(self, node):
        """The node's configuration from its latest get_config answer in the store (None until
        one arrived); asks the node for it (at most every 30 s) while there is none."""
        for e in self.store.events(node, limit=100, event="ack"):
            p = e.get("payload") or {}
            if p.get("cmd") == "get_config" and p.get("ok") and isinstance(p.get("result"), dict):
                return p["result"]
        row = self.store.node(node)
        now = time.time()
        if row and row.get("site") and now - self.config_asked.get(node, 0) > 30:
            try:
                self.send(row, {"cmd": "get_config"})
                self.config_asked[node] = now
            except RuntimeError:
                pass
        return None

    def iso_and_markers(self, node, f1):
        cfg = self.node_config(node)
        feats = (cfg or {}).get("features") or {}
        lim, group, foundation = analysis.iso_limits(feats)
        iso = {"limits": lim, "group": group, "foundation": foundation,
               "source": "node config" if cfg else "engine defaults (waiting for the node's config)"}
        return iso, analysis.markers(feats, f1), feats

    @staticmethod
    def reading(r):
        return {"seq": r["seq"], "t": r["t"] * 1000.0, "temp_c": r.get("temp_c"), "replayed": bool(r.get("replayed")),
                "vel": [r.get(a + "_vel") for a in "xyz"], "rms": [r.get(a + "_rms") for a in "xyz"]}

    def capture(self, cap):
        if cap is None:
            return None
        meta = cap.get("meta") or {}
        out = {"id": cap.get("req_id"), "seq": cap.get("seq"), "rx": cap.get("rx"), "complete": cap.get("complete"),
               "missing": cap.get("missing"), "axes": {}}
        if cap["kind"] == "envelope":
            out["source"] = "node"  # a wide-band node's own envelope spectrum (features/stream.py)
        for a, vals in (cap.get("axes") or {}).items():
            vals = [None if v is None else _sig(v) for v in vals]
            if cap["kind"] in ("spectrum", "envelope"):
                df = meta["df_hz"]
                out["axes"][a] = {"f": [_sig((i + 0.5) * df, 5) for i in range(len(vals))], "a": vals}
            else:
                rate = meta["rate"]
                out["axes"][a] = {"t": [_sig(1000.0 * i / rate, 5) for i in range(len(vals))], "a": vals}
        return out

    def envelope(self, wave, feats, markers):
        """Envelope spectrum of each axis of a waveform capture (computed here, see analysis)."""
        if wave is None:
            return None
        key = (wave.get("req_id"), wave.get("rx"), json.dumps(feats.get("envelope"), sort_keys=True))
        if key in self.env_cache:
            return self.env_cache[key]
        rate = wave["meta"]["rate"]
        band = (feats.get("envelope") or {}).get("band")
        top = max([m["hz"] for m in markers if m["kind"] != "shaft"] or [0])
        fmax = min(rate / 2.0, 1.15 * top if top else 500.0)
        out = {"id": wave.get("req_id"), "seq": wave.get("seq"), "rx": wave.get("rx"), "axes": {}}
        for a, vals in (wave.get("axes") or {}).items():
            x = [v for v in vals if v is not None]
            f, amp, used = analysis.envelope_spectrum(x, rate, band)
            keep = f <= fmax
            out["axes"][a] = {"f": [_sig(v, 5) for v in f[keep]], "a": [_sig(v) for v in amp[keep]]}
            out["band"] = [_sig(used[0]), _sig(used[1])]
        out["source"] = "waveform"
        self.env_cache = {key: out}
        return out

    def node_envelope(self, cap, band, markers):
        """A wide-band node's envelope-spectrum capture (kind "envelope"), cut like the computed one;
        band: the node's envelope band from its status (env_band), if known."""
        out = self.capture(cap)
        top = max([m["hz"] for m in markers if m["kind"] != "shaft"] or [0])
        if top:
            for a, v in out["axes"].items():
                k = sum(1 for f in v["f"] if f <= 1.15 * top) + 1
                out["axes"][a] = {"f": v["f"][:k], "a": v["a"][:k]}
        if band:
            out["band"] = band
        return out

    def node_update(self, node, seen):
        """The node page's data; `seen` (per client) remembers what was sent, so later calls
        return only what changed. First call: everything."""
        out = {}
        try:
            d = self.store.node(node)
            out["node"] = self.row(d) if d else {"node": node, "state": "unknown"}
            rows = self.store.readings(node, since=seen.get("rx"), limit=TREND_POINTS, full=False)
            if rows:
                seen["rx"] = max(r["rx"] for r in rows)
                out["readings"] = [self.reading(r) for r in rows]
            last = self.store.readings(node, limit=1, full=True)
            f1 = None
            if last:
                p = last[0].get("payload") or {}
                f1 = next((p[a]["f1"] for a in "xyz" if isinstance(p.get(a), dict) and p[a].get("f1")), None)
            iso, markers, feats = self.iso_and_markers(node, f1)
            key = json.dumps([iso, markers])
            if key != seen.get("iso"):
                seen["iso"] = key
                out["iso"], out["markers"] = iso, markers
            alarms = self.store.alarms(node, limit=200)
            akey = (len(alarms), alarms[0]["rx"] if alarms else None)
            if akey != seen.get("alarms"):
                seen["alarms"] = akey
                out["alarms"] = [{"t": (a["rx"] if a.get("ts") is None else a["ts"]) * 1000.0, "metric": a["metric"],
                                  "axis": a["axis"], "state": a["state"], "prev": a["prev"], "value": a["value"],
                                  "limit": a["limit"]} for a in alarms[::-1]]
            newest = {}
            for c in self.store.captures(node, limit=20):     # (without their data)
                newest.setdefault(c["kind"], (c.get("req_id"), c.get("rx"), c.get("complete")))
            for kind in ("spectrum", "waveform"):
                ck = newest.get(kind)
                if ck != seen.get(kind) or (kind == "waveform" and "iso" in out and ck):
                    seen[kind] = ck
                    cap = self.store.latest_capture(node, kind) if ck else None
                    out[kind] = self.capture(cap)
            # the envelope panel: the newer of a wide-band node's own envelope capture and the
            # envelope computed here from the latest waveform
            ek = (newest.get("envelope"), newest.get("waveform"))
            if ek != seen.get("envelope") or ("iso" in out and any(ek)):
                seen["envelope"] = ek
                env, wave = self.store.latest_capture(node, "envelope"), None
                if ek[1] and (env is None or env["rx"] < ek[1][1]):
                    wave, env = self.store.latest_capture(node, "waveform"), None
                if env is not None:
                    st = self.store.statuses(node, limit=1)
                    band = (st[0].get("payload") or {}).get("env_band") if st else None
                    out["envelope"] = self.node_envelope(env, band, markers)
                else:
                    out["envelope"] = self.envelope(wave, feats, markers)
            cmd = self.refresh_command(node)
            if cmd and cmd != seen.get("cmd"):
                seen["cmd"] = dict(cmd)
                out["command"] = cmd
            err = None
        except DbError as e:
            err = str(e)
        out["health"] = self.health(err)
        return out

    # ---- commands -----------------------------------------------------------------------
    def send(self, row, cmd):
        """Publish a command to the node of an overview row through the collector; returns its
        id. RuntimeError when it cannot be sent (no collector here, broker not connected)."""
        if self.collector is None:
            raise RuntimeError("no collector in this process: commands need one")
        if self.collector.broker.get("state") != "connected":
            raise RuntimeError("broker unreachable")
        return self.collector.send_command(row["node"], cmd, site=row["site"])

    def request_capture(self, node, kind, axis):
        if kind not in ("spectrum", "waveform", "envelope") or axis not in ("x", "y", "z", "all"):
            return {"error": "kind must be spectrum|waveform|envelope and axis x|y|z|all"}, 400
        row = self.store.node(node)
        if not row or not row.get("site"):
            return {"error": "unknown node %r" % node}, 404
        c = {"id": None, "kind": kind, "axis": axis, "sent": time.time(), "state": "sent", "error": None}
        try:
            c["id"] = self.send(row, {"cmd": "capture", "kind": kind, "axis": axis})
            why = None
        except RuntimeError as e:
            why = str(e)
            c.update(state="failed", error=why)
        with self.lock:
            self.cmds[node] = c
        self._updated()
        return {"command": dict(c)}, 200 if not why else 503

    def refresh_command(self, node):
        """Advance the last capture request's state from the store: sent -> accepted | refused,
        accepted -> arrived | failed; no answer after CMD_TIMEOUT_S."""
        c = self.cmds.get(node)
        if c is None or c["state"] not in ("sent", "accepted"):
            return c
        if c["state"] == "sent":
            for e in self.store.events(node, limit=50, event="ack"):
                p = e.get("payload") or {}
                if p.get("id") == c["id"]:
                    c["state"] = "accepted" if p.get("ok") else "refused"
                    c["error"] = p.get("error")
                    break
        if c["state"] == "accepted":
            cap = self.store.latest_capture(node, c["kind"], req_id=c["id"])
            if cap is not None:
                c["state"] = "arrived"
                c["chunks"] = "complete" if cap.get("complete") else "%d chunks missing" % len(cap.get("missing") or [])
            else:
                for e in self.store.events(node, limit=50, event="capture_failed"):
                    if (e.get("payload") or {}).get("id") == c["id"]:
                        c["state"], c["error"] = "failed", (e["payload"] or {}).get("error")
        if c["state"] in ("sent", "accepted") and time.time() - c["sent"] > CMD_TIMEOUT_S:
            c["state"], c["error"] = "no answer", "nothing from the node within %d s" % CMD_TIMEOUT_S
        return c


def create_app(store, collector=None):
    dash = Dashboard(store, collector)

    async def page(request):
        return FileResponse(os.path.join(STATIC, "node.html" if "node" in request.path_params else "index.html"))

    async def plotly_js(request):
        return FileResponse(PLOTLY_JS, media_type="application/javascript")

    async def api_fleet(request):
        return JSONResponse(await run_in_threadpool(dash.fleet))

    async def api_node(request):
        return JSONResponse(await run_in_threadpool(dash.node_update, request.path_params["node"], {}))

    async def api_capture(request):
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        res, code = await run_in_threadpool(dash.request_capture, request.path_params["node"],
                                            body.get("kind"), body.get("axis", "all"))
        return JSONResponse(res, status_code=code)

    async def api_stream(request):
        node = request.query_params.get("node")

        async def events():
            seen, last_fleet, last_sent = {}, None, 0.0
            while True:
                v = dash.version
                if node:
                    d = await run_in_threadpool(dash.node_update, node, seen)
                    yield {"event": "node", "data": json.dumps(d)}
                else:
                    f = json.dumps(await run_in_threadpool(dash.fleet))
                    if f != last_fleet or time.time() - last_sent > 5:
                        last_fleet, last_sent = f, time.time()
                        yield {"event": "fleet", "data": f}
                await asyncio.sleep(0.3)
                for _ in range(7):      # next round at the next update, at most every 0.3..1 s
                    if dash.version != v or await request.is_disconnected():
                        break
                    await asyncio.sleep(0.1)
                if await request.is_disconnected():
                    return
        return EventSourceResponse(events(), ping=15)

    routes = [Route("/", page), Route("/node/{node}", page),
              Route("/static/plotly.min.js", plotly_js),
              Mount("/static", StaticFiles(directory=STATIC)),
              Route("/api/fleet", api_fleet), Route("/api/node/{node}", api_node),
              Route("/api/node/{node}/capture", api_capture, methods=["POST"]),
              Route("/api/stream", api_stream)]
    app = Starlette(routes=routes)
    app.state.dashboard = dash
    return app


def start(app, host="127.0.0.1", port=0):
    """Serve app with uvicorn in a daemon thread on host:port (0: a free port, bound here so the
    printed URL is the one served). Returns (server, url)."""
    import uvicorn
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="vnmon-web")
    t.start()
    deadline = time.time() + 10
    while not server.started and t.is_alive() and time.time() < deadline:
        time.sleep(0.02)
    server.thread = t
    return server, "http://%s:%d/" % (host, port)


def stop(server):
    server.should_exit = True
    t = getattr(server, "thread", None)
    if t is not None:
        t.join(timeout=5)
