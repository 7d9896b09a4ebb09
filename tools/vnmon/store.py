"""The monitor's store: every valid message a collector received, and the queries the dashboard
makes. SQLite by default (one file), PostgreSQL when given a DSN; same tables, same behaviour.

    from vnmon.store import Store
    st = Store("monitor.db")                      # or Store("postgresql://user@127.0.0.1:5432/vn")
    st = Store("monitor.db", retention_s=7 * 86400)   # prune() drops what is older (by receive time)

Query API (stable: the dashboard builds on it). Times are float UTC epoch seconds; `rx` is when
the collector received a message (host clock), `ts` the node's own timestamp (UTC seconds,
uptime-based when `unsync`); `t` = ts, or rx when the node's clock was never set.

  nodes_overview(now=None) -> [dict] one per node, sorted by node:
      node, site, state ('online'|'offline'|'rebooting'|None: last status), online (bool: state
      online and heard from within stale_after), last_seen, stale_after, last_seq, seq0, fw, board,
      errors {name: text}, interval_s, iso ('A'..'D': worst axis of the last reading),
      vel {x,y,z} mm/s + vel_max, rms {x,y,z} g + rms_max, temp_c,
      bearing {defect, axis, amp_g, ratio, alarm} | None (strongest envelope defect line),
      anomaly (the reading's "anomaly" value when the node sends one, else None),
      queued (node's store-and-forward backlog: last link_up event or birth),
      readings, dups (replayed duplicates ignored), lost (readings in proven gaps),
      unused (sequence numbers skipped at a crash reboot, not lost), invalid (schema violations)
  node(node) -> the same dict for one node, or None
  readings(node, since=None, until=None, limit=1000, full=False) -> [dict] oldest first (the
      newest `limit` with rx in [since, until]): node, seq, ts, t, rx, unsync, replayed, temp_c,
      and per axis a in x,y,z: a_rms, a_vel, a_iso, a_pk, a_cf, a_ku, a_f0, a_hf, a_env_dom,
      a_env_a, a_env_r; full=True adds `payload` (the whole message as a dict)
  alarms(node=None, since=None, limit=200) -> [dict] newest first: node, seq, ts, rx, metric,
      axis, state, prev, value, limit, replayed
  statuses(node, limit=50) -> [dict] newest first: node, rx, state, payload (dict)
  events(node=None, limit=100, event=None) -> [dict] newest first: node, ts, rx, event, payload;
      command acks are stored as event 'ack' (payload = the ack)
  latest_capture(node, kind='spectrum', req_id=None) -> dict | None: node, req_id, kind
      ('spectrum'|'waveform'|'envelope'), seq, rx, complete, missing [chunk indices], meta
      {df_hz, bins | rate, n, scale_g, fmt, errors?}, axes {axis: [values in g, None where a
      chunk is missing]} (spectrum: bin i at i * df_hz Hz; waveform: sample i at i / rate s)
  captures(node, limit=20) -> [dict] newest first, without `axes`
  gaps(node=None, limit=200) -> [dict]: node, first_seq, last_seq, rx, reason
  invalid(node=None, limit=50) -> [dict] newest first: node, topic, rx, reason, payload (text)
  counters() -> {"invalid": {node: n}, "dups": {node: n}, "lost": {node: n}, "readings": total}
  health() -> [dict] one per collector that wrote to this store: collector, rx (when written),
      and its Collector.health() fields (broker state, db state, buffered, buffer_lost, ...)

Queries raise vnmon.sqldb.DbError when the database cannot answer (down, locked too long).
Live updates: Collector.subscribe_updates(callback) (collector.py). Writes (collector side):
write_batch(messages), put_health(name, info), prune().
"""
import json
import time

from vnmon.sqldb import AXES, AXIS_COLS, READING_COLS, Db, DbError, is_postgres  # noqa: F401

ISO_ORDER = ("A", "B", "C", "D")


def _loads(s):
    try:
        return json.loads(s) if s else None
    except ValueError:
        return None


def _t(r):
    return r["rx"] if r.get("unsync") or r.get("ts") is None else r["ts"]


# (column suffix, key in the axis dict, from the axis' env dict?, text column?)
_AXIS_MAP = tuple((c, {"env_dom": "dom", "env_a": "a", "env_r": "r"}.get(c, c), c.startswith("env_"),
                   c in ("iso", "env_dom")) for c, _ in AXIS_COLS)


def reading_row(node, rx, m, raw=None):
    """The readings row of a valid telemetry message (dict keyed by READING_COLS); raw: the
    message's JSON text as received (stored as payload; else m is serialized)."""
    row = {"node": node, "seq": m["seq"], "ts": m.get("ts"), "rx": rx, "unsync": 1 if m.get("unsync") else 0,
           "replayed": 1 if m.get("replayed") else 0, "temp_c": m.get("temp_c")}
    for a in AXES:
        ax = m.get(a) or {}
        env = ax.get("env")
        if not isinstance(env, dict):
            env = {}
        for c, key, in_env, text in _AXIS_MAP:
            v = (env if in_env else ax).get(key)
            if text:
                if not isinstance(v, str):
                    v = None
            elif v.__class__ not in (int, float):
                v = None
            row[a + "_" + c] = v
    row["payload"] = raw if raw is not None else json.dumps(m, separators=(",", ":"))
    return row


def overview_fields(m):
    """Overview values from the last telemetry message of a node."""
    out = {"iso": None, "vel": {}, "rms": {}, "vel_max": None, "rms_max": None, "temp_c": None,
           "bearing": None, "anomaly": None}
    if not isinstance(m, dict):
        return out
    best = None
    for a in AXES:
        ax = m.get(a)
        if not isinstance(ax, dict):
            continue
        out["vel"][a] = ax.get("vel")
        out["rms"][a] = ax.get("rms")
        iso = ax.get("iso")
        if iso in ISO_ORDER and (out["iso"] is None or iso > out["iso"]):
            out["iso"] = iso
        env = ax.get("env")
        if isinstance(env, dict) and env.get("dom"):
            r = env.get("r") or 0
            if best is None or r > best["ratio"]:
                best = {"defect": env["dom"], "axis": a, "amp_g": env.get("a"), "ratio": r,
                        "alarm": bool(env.get("alarm"))}
    vals = [v for v in out["vel"].values() if isinstance(v, (int, float))]
    out["vel_max"] = max(vals) if vals else None
    vals = [v for v in out["rms"].values() if isinstance(v, (int, float))]
    out["rms_max"] = max(vals) if vals else None
    out["temp_c"] = m.get("temp_c")
    out["bearing"] = best
    out["anomaly"] = m.get("anomaly")
    return out


class Store:
    """See the module docstring. `url`: a file path (SQLite) or a PostgreSQL DSN."""

    def __init__(self, url="monitor.db", retention_s=None, timeout=5.0):
        self.url = url
        self.retention_s = retention_s
        self.db = Db(url, timeout=timeout)
        self.db.create()

    @property
    def backend(self):
        return "postgresql" if self.db.pg else "sqlite"

    def close(self):
        self.db.close()

    # ---- queries (dashboard) ------------------------------------------------------------
    def nodes_overview(self, now=None):
        now = time.time() if now is None else now
        return [self._overview(r, now) for r in self.db.query("SELECT * FROM nodes ORDER BY node")]

    def node(self, node):
        rows = self.db.query("SELECT * FROM nodes WHERE node = ?", (node,))
        return self._overview(rows[0], time.time()) if rows else None

    def _overview(self, r, now):
        stale = max(30.0, 3 * (r.get("interval_s") or 0) + 10)
        d = {"node": r["node"], "site": r["site"], "state": r["state"], "last_seen": r["last_seen"],
             "stale_after": stale, "last_seq": r["last_seq"], "seq0": r["seq0"], "fw": r["fw"],
             "board": r["board"], "errors": _loads(r["errors"]) or {}, "interval_s": r["interval_s"],
             "queued": r["queued"], "readings": r["readings"] or 0, "dups": r["dups"] or 0,
             "lost": r["lost"] or 0, "unused": r["unused"] or 0, "invalid": r["invalid"] or 0}
        d["online"] = bool(r["state"] == "online" and r["last_seen"] is not None and now - r["last_seen"] < stale)
        d.update(overview_fields(_loads(r["last_reading"])))
        return d

    def readings(self, node, since=None, until=None, limit=1000, full=False):
        cols = [c for c in READING_COLS if c != "payload" or full]
        q = "SELECT %s FROM readings WHERE node = ?" % ", ".join(cols)
        args = [node]
        if since is not None:
            q += " AND rx >= ?"
            args.append(since)
        if until is not None:
            q += " AND rx <= ?"
            args.append(until)
        q += " ORDER BY seq DESC LIMIT ?"
        args.append(int(limit))
        rows = self.db.query(q, args)[::-1]
        for r in rows:
            r["t"] = _t(r)
            if full:
                r["payload"] = _loads(r["payload"])
        return rows

    def _select(self, cols, table, where, order, limit):
        """SELECT cols FROM table with `where` {"column op": value} (None values left out)."""
        conds = [(k, v) for k, v in where.items() if v is not None]
        q = "SELECT %s FROM %s" % (cols, table)
        if conds:
            q += " WHERE " + " AND ".join("%s ?" % k for k, _ in conds)
        return self.db.query(q + " ORDER BY %s LIMIT ?" % order, [v for _, v in conds] + [int(limit)])

    def alarms(self, node=None, since=None, limit=200):
        rows = self._select("node, seq, ts, rx, metric, axis, state, prev, value, lim, replayed", "alarms",
                            {"node =": node, "rx >=": since}, "rx DESC, id DESC", limit)
        for r in rows:
            r["limit"] = r.pop("lim")
        return rows

    def statuses(self, node, limit=50):
        rows = self._select("node, rx, state, payload", "statuses", {"node =": node}, "rx DESC, id DESC", limit)
        for r in rows:
            r["payload"] = _loads(r["payload"])
        return rows

    def events(self, node=None, limit=100, event=None):
        rows = self._select("node, ts, rx, event, payload", "events", {"node =": node, "event =": event},
                            "rx DESC, id DESC", limit)
        for r in rows:
            r["payload"] = _loads(r["payload"])
        return rows

    def latest_capture(self, node, kind="spectrum", req_id=None):
        rows = self._select("*", "captures", {"node =": node, "kind =": kind,
                                              "req_id =": None if req_id is None else str(req_id)},
                            "rx DESC, id DESC", 1)
        return self._capture(rows[0], True) if rows else None

    def captures(self, node, limit=20):
        return [self._capture(r, False) for r in self._select("*", "captures", {"node =": node}, "rx DESC, id DESC", limit)]

    def _capture(self, r, with_data):
        meta = _loads(r["meta"]) or {}
        d = {"node": r["node"], "req_id": r["req_id"], "kind": r["kind"], "seq": r["seq"], "rx": r["rx"],
             "complete": bool(r["complete"]), "missing": meta.pop("missing", []), "meta": meta}
        if with_data:
            d["axes"] = _loads(r["data"]) or {}
        return d

    def gaps(self, node=None, limit=200):
        return self._select("node, first_seq, last_seq, rx, reason", "gaps", {"node =": node}, "node, first_seq", limit)

    def invalid(self, node=None, limit=50):
        return self._select("node, topic, rx, reason, payload", "invalid", {"node =": node}, "rx DESC, id DESC", limit)

    def counters(self):
        rows = self.db.query("SELECT node, invalid, dups, lost, readings FROM nodes")
        return {"invalid": {r["node"]: r["invalid"] or 0 for r in rows},
                "dups": {r["node"]: r["dups"] or 0 for r in rows},
                "lost": {r["node"]: r["lost"] or 0 for r in rows},
                "readings": sum(r["readings"] or 0 for r in rows)}

    def health(self):
        out = []
        for r in self.db.query("SELECT collector, rx, info FROM health ORDER BY collector"):
            d = _loads(r["info"]) or {}
            d.update(collector=r["collector"], rx=r["rx"])
            out.append(d)
        return out

    # ---- writes (collector) -------------------------------------------------------------
    def put_health(self, name, info):
        self.db.run(lambda cur: (
            cur.execute(self.db.sql("DELETE FROM health WHERE collector = ?"), (name,)),
            cur.execute(self.db.sql("INSERT INTO health (collector, rx, info) VALUES (?, ?, ?)"),
                        (name, time.time(), json.dumps(info)))))

    def prune(self, now=None):
        """Delete what was received more than retention_s ago. Returns rows deleted."""
        if not self.retention_s:
            return 0
        cut = (time.time() if now is None else now) - self.retention_s

        def fn(cur):
            n = 0
            for t in ("readings", "alarms", "statuses", "events", "captures", "gaps", "invalid"):
                cur.execute(self.db.sql("DELETE FROM %s WHERE rx < ?" % t), (cut,))
                n += max(cur.rowcount, 0)
            return n
        return self.db.run(fn)

    def write_batch(self, msgs):
        """Store validated messages in one transaction. msgs: [(kind, node, site, rx, msg, retained
        [, raw JSON text])] with kind in telemetry|alarm|status|event|ack|capture|invalid (for invalid, msg is
        {"topic", "reason", "payload"}). Returns [(kind, node, info)] of what was new (for live
        updates). Raises DbError (nothing of the batch is stored then)."""
        from vnmon.writer import write_batch
        return self.db.run(lambda cur: write_batch(self.db, cur, msgs))
