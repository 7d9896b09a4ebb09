"""One batch of validated messages into the store, node by node, inside one transaction.

Deduplication: a reading is stored once per (node, seq) (primary key; a replayed duplicate is
counted in nodes.dups). Gaps: messages of one node arrive in order (docs/mqtt.md: nothing is
published out of order per node, replays come before newer readings), so a reading whose seq
is beyond last_seq + 1 proves the numbers in between missing, except those below the seq0 of
the node's current boot (numbers a crash skipped, never given to a reading: counted as unused).
A reading that later arrives inside a recorded gap (possible with shared subscriptions, where
collectors commit out of order) shrinks the gap again. Node rows are locked in sorted order
(FOR UPDATE on PostgreSQL; SQLite's write lock covers the whole file), so concurrent
collectors neither deadlock nor race on a node's counters.
"""
import json

from vnmon.store import READING_COLS, reading_row

_NODE_COLS = ("site", "state", "first_seen", "last_seen", "status_rx", "fw", "board", "seq0", "interval_s",
              "queued", "errors", "last_seq", "readings", "dups", "invalid", "lost", "unused", "last_reading")


def write_batch(db, cur, msgs):
    sql = db.sql
    by_node = {}
    for m in msgs:
        by_node.setdefault(m[1] or "?", []).append(m)
    news = []
    ins_reading = sql("INSERT INTO readings (%s) VALUES (%s) ON CONFLICT (node, seq) DO NOTHING"
                      % (", ".join(READING_COLS), ", ".join("?" * len(READING_COLS))))
    for node in sorted(by_node):
        items = by_node[node]
        cur.execute(sql("INSERT INTO nodes (node, site, first_seen, readings, dups, invalid, lost, unused) "
                        "VALUES (?, ?, ?, 0, 0, 0, 0, 0) ON CONFLICT (node) DO NOTHING"),
                    (node, items[0][2], items[0][3]))
        cur.execute(sql("SELECT %s FROM nodes WHERE node = ?%s" % (", ".join(_NODE_COLS), " FOR UPDATE" if db.pg else "")),
                    (node,))
        n = dict(zip(_NODE_COLS, cur.fetchone()))
        orig = dict(n)
        for it in items:
            kind, _, site, rx, m, retained = it[:6]
            if site and kind != "invalid":
                n["site"] = site
            if kind == "invalid":
                cur.execute(sql("INSERT INTO invalid (node, topic, rx, reason, payload) VALUES (?, ?, ?, ?, ?)"),
                            (node, m["topic"], rx, m["reason"], m["payload"]))
                n["invalid"] = (n["invalid"] or 0) + 1
                news.append(("invalid", node, {"reason": m["reason"], "topic": m["topic"]}))
                continue
            if not (kind == "status" and m.get("state") == "offline"):
                n["last_seen"] = max(n["last_seen"] or 0, rx)
            if kind == "telemetry":
                _reading(db, cur, ins_reading, n, node, rx, m, news, it[6] if len(it) > 6 else None)
            elif kind == "alarm":
                cur.execute(sql("INSERT INTO alarms (node, seq, ts, rx, metric, axis, state, prev, value, lim, replayed) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node, seq, metric, axis, state) "
                                "DO NOTHING"),
                            (node, m["seq"], m["ts"], rx, m["metric"], m["axis"], m["state"], m["prev"],
                             m["value"], m["limit"], 1 if m.get("replayed") else 0))
                if cur.rowcount:
                    news.append(("alarm", node, m))
            elif kind == "status":
                _status(db, cur, n, node, rx, m, retained, news)
            elif kind in ("event", "ack"):
                ev = "ack" if kind == "ack" else m["event"]
                cur.execute(sql("INSERT INTO events (node, ts, rx, event, payload) VALUES (?, ?, ?, ?, ?)"),
                            (node, m.get("ts"), rx, ev, json.dumps(m)))
                if ev == "link_up":
                    n["queued"] = m.get("queued")
                elif ev == "replayed":
                    n["queued"] = 0
                news.append(("event", node, {"event": ev}))
            elif kind == "capture":
                cur.execute(sql("INSERT INTO captures (node, req_id, kind, seq, rx, complete, meta, data) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                            (node, None if m["id"] is None else str(m["id"]), m["kind"], m["seq"], rx,
                             1 if m["complete"] else 0, json.dumps(m["meta"]), json.dumps(m["axes"])))
                news.append(("capture", node, {"kind": m["kind"], "req_id": m["id"], "complete": m["complete"]}))
        changed = [c for c in _NODE_COLS if n[c] != orig[c]]
        if changed:
            cur.execute(sql("UPDATE nodes SET %s WHERE node = ?" % ", ".join("%s = ?" % c for c in changed)),
                        [n[c] for c in changed] + [node])
    return news


def _reading(db, cur, ins, n, node, rx, m, news, raw):
    sql = db.sql
    row = reading_row(node, rx, m, raw)
    cur.execute(ins, [row[c] for c in READING_COLS])
    if not cur.rowcount:
        n["dups"] = (n["dups"] or 0) + 1
        return
    seq = m["seq"]
    n["readings"] = (n["readings"] or 0) + 1
    last = n["last_seq"]
    if last is None or seq > last:
        if last is not None and seq > last + 1:
            lo, hi = last + 1, seq - 1
            s0 = n["seq0"]
            if s0 is not None and lo < s0 <= seq:
                n["unused"] = (n["unused"] or 0) + (s0 - lo)
                lo = s0
            if lo <= hi:
                cur.execute(sql("INSERT INTO gaps (node, first_seq, last_seq, rx, reason) VALUES (?, ?, ?, ?, ?)"),
                            (node, lo, hi, rx, "missing"))
                n["lost"] = (n["lost"] or 0) + (hi - lo + 1)
                news.append(("gap", node, {"first_seq": lo, "last_seq": hi}))
        n["last_seq"] = seq
        n["last_reading"] = row["payload"]
    else:  # late: fills (part of) a recorded gap
        cur.execute(sql("SELECT id, first_seq, last_seq, rx, reason FROM gaps WHERE node = ? AND first_seq <= ? "
                        "AND last_seq >= ?"), (node, seq, seq))
        for gid, lo, hi, grx, reason in cur.fetchall():
            cur.execute(sql("DELETE FROM gaps WHERE id = ?"), (gid,))
            for a, b in ((lo, seq - 1), (seq + 1, hi)):
                if a <= b:
                    cur.execute(sql("INSERT INTO gaps (node, first_seq, last_seq, rx, reason) VALUES (?, ?, ?, ?, ?)"),
                                (node, a, b, grx, reason))
            n["lost"] = max(0, (n["lost"] or 0) - 1)  # (one row at most: gaps never overlap)
    news.append(("reading", node, {"seq": seq, "replayed": bool(m.get("replayed"))}))


def _status(db, cur, n, node, rx, m, retained, news):
    sql = db.sql
    text = json.dumps(m, sort_keys=True)
    if retained:  # the broker's retained copy of a status we may have stored already
        cur.execute(sql("SELECT payload FROM statuses WHERE node = ? ORDER BY rx DESC, id DESC LIMIT 1"), (node,))
        r = cur.fetchone()
        if r is not None and r[0] == text:
            return
    cur.execute(sql("INSERT INTO statuses (node, rx, state, payload) VALUES (?, ?, ?, ?)"), (node, rx, m["state"], text))
    n["state"] = m["state"]
    n["status_rx"] = rx
    for k in ("fw", "board", "interval_s", "queued"):
        if m.get(k) is not None:
            n[k] = m[k]
    if m.get("seq0") is not None and m["state"] == "online":
        n["seq0"] = m["seq0"]
    if m["state"] != "offline":
        n["errors"] = json.dumps(m.get("errors") or {})
    news.append(("status", node, {"state": m["state"]}))
