"""Collector: subscribes to vibenode nodes with paho-mqtt and stores what they say.

    from vnmon.store import Store
    from vnmon.collector import Collector
    c = Collector(Store("monitor.db"), host="127.0.0.1", port=1883)   # whole prefix
    c = Collector(store, site="plant1")  or  Collector(store, site="plant1", node="pump-07")
    c = Collector(store, share="monitors")        # $share/monitors/<topic>: one of a group
    (name= the MQTT client id; persistent= a persistent session: see __init__)
    c.subscribe_updates(lambda news: ...)          # news: [(kind, node, info)] after each commit
    c.start(); ... c.health(); c.request_capture("pump-07", "spectrum"); c.stop()

Every message is validated (vnmon.schema); an invalid one is stored only as an `invalid` row
with its reason (counted per node), never as data. Spectrum/waveform chunks are reassembled
by (node, kind, id, seq) over index 0..total-1 (offset/count per axis) and stored as one capture
when complete, or after capture_timeout_s with the missing chunk indices.

Several collectors may write into one store when their subscriptions do not overlap or when
they share one subscription group: readings and alarms are deduplicated in the store, but
statuses, events and invalid messages received twice would be stored (and counted) twice.

Threads: paho's network loop validates and appends to a bounded buffer; one writer thread
stores the buffer in batches (one transaction each). Errors:
  broker unreachable: paho reconnects with backoff (backoff_min_s doubling to backoff_max_s);
      health()["broker"] says state (connecting|connected|down|stopped), attempts, last_error, retry_s.
  database locked or down: the batch stays in memory and is retried with backoff; the buffer
      holds at most buffer_max messages; beyond that the oldest is dropped and counted
      (buffer_lost, buffer_lost_readings); health()["db"] says state (ok|error) and last_error.
  schema violations: counted per node in the store (nodes.invalid) and in health()["invalid"].
health() is also written to the store (Store.health()) every health_interval_s.
"""
import collections
import json
import logging
import os
import socket
import threading
import time
import zlib

import paho.mqtt.client as mqtt

from vnmon.captures import Reassembler
from vnmon.schema import Invalid, Validator
from vnmon.sqldb import DataError, DbError

log = logging.getLogger("vnmon.collector")


class Collector:
    def __init__(self, store, host="127.0.0.1", port=1883, prefix="vibenode", site=None, node=None, share=None,
                 name=None, persistent=None, tls=None, username=None, password=None, buffer_max=20000,
                 batch_max=500, capture_timeout_s=60.0, health_interval_s=2.0, backoff_min_s=1, backoff_max_s=30,
                 keepalive=30):
        self.store = store
        self.host, self.port, self.prefix = host, port, prefix.strip("/")
        self.topic = "%s/%s/%s/#" % (self.prefix, site or "+", node or "+")
        self.sub_topic = "$share/%s/%s" % (share, self.topic) if share else self.topic
        # MQTT client id = name. A persistent session (the broker queues what arrives while the
        # collector is down) needs the same id at every start: by default one derived from the
        # host, the store and the topic. A member of a shared subscription gets a unique id and a
        # clean session unless named: an offline member's persistent session would keep being
        # handed its share of the group's messages.
        if persistent is None:
            persistent = name is not None or not share
        if name is None:
            ident = zlib.crc32(("%s|%s" % (store.url, self.topic)).encode())
            name = "vnmon-%s-%08x" % (socket.gethostname()[:20], ident)
            if share:
                name += "-%d" % os.getpid()
        self.name = name
        self.validator = Validator(self.prefix)
        self.buffer_max, self.batch_max = buffer_max, batch_max
        self.health_interval_s = health_interval_s
        self.backoff = (backoff_min_s, backoff_max_s)
        self._q = collections.deque()
        self._pending = []  # the batch being written (counts in the buffer)
        self._cv = threading.Condition()
        self._captures = Reassembler(capture_timeout_s)
        self._callbacks = []
        self._stop = threading.Event()
        self._writer = None
        self._seq = 0
        self.stats = {"received": 0, "invalid": 0, "stored": 0, "buffer_lost": 0, "buffer_lost_readings": 0,
                      "batches": 0, "unstorable": 0, "errors": 0}
        self.broker = {"state": "connecting", "since": time.time(), "attempts": 0, "last_error": None,
                       "retry_s": None, "url": "mqtt://%s:%d" % (host, port), "topic": self.sub_topic}
        self.db = {"state": "ok", "since": time.time(), "last_error": None, "backend": store.backend}
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.name,
                                  clean_session=not persistent)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=tls.get("ca"), certfile=tls.get("cert"), keyfile=tls.get("key"))
        self.client.reconnect_delay_set(backoff_min_s, backoff_max_s)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_message = self._on_message
        self.keepalive = keepalive

    # ---- public ------------------------------------------------------------------------
    def subscribe_updates(self, callback):
        """callback(news) after each stored batch, from the writer thread: news is a list of
        (kind, node, info), kind in reading|alarm|status|event|capture|gap|invalid|health.
        Keep it short (e.g. loop.call_soon_threadsafe); exceptions are logged and ignored."""
        self._callbacks.append(callback)

    def start(self):
        self._writer = threading.Thread(target=self._write_loop, name="vnmon-writer", daemon=True)
        self._writer.start()
        self.client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self.client.loop_start()
        return self

    def stop(self, flush_s=5.0):
        """Disconnect, then store what is buffered (waiting at most flush_s)."""
        try:
            self.client.disconnect()
        except Exception:
            pass
        self.client.loop_stop()
        self._broker("stopped", None)
        deadline = time.time() + flush_s
        while self.buffered() and time.time() < deadline and self.db["state"] == "ok":
            time.sleep(0.05)
        self._stop.set()
        with self._cv:
            self._cv.notify()
        if self._writer:
            self._writer.join(timeout=flush_s + 5)

    def buffered(self):
        with self._cv:
            return len(self._q) + len(self._pending)

    def health(self):
        d = dict(self.stats)
        d.update(name=self.name, broker=dict(self.broker), db=dict(self.db), buffered=self.buffered(),
                 buffer_max=self.buffer_max, captures=self._captures.assembled, captures_pending=len(self._captures))
        return d

    def send_command(self, node, cmd, site=None):
        """Publish a command (dict) to a node's cmd topic; returns its id (one is added)."""
        if site is None:
            n = self.store.node(node)
            if n is None or not n.get("site"):
                raise ValueError("unknown node %r (site not known yet)" % node)
            site = n["site"]
        cmd = dict(cmd)
        if "id" not in cmd:
            self._seq += 1
            cmd["id"] = "vnmon-%d-%d" % (int(time.time()) % 100000, self._seq)
        self.client.publish("%s/%s/%s/cmd" % (self.prefix, site, node), json.dumps(cmd), qos=1)
        return cmd["id"]

    def request_capture(self, node, kind="spectrum", axis="all", site=None):
        return self.send_command(node, {"cmd": "capture", "kind": kind, "axis": axis}, site)

    # ---- MQTT (paho's network thread) ----------------------------------------------------
    def _on_connect(self, client, userdata, flags, rc, props=None):
        if getattr(rc, "is_failure", rc != 0):
            self._broker("down", "CONNACK %s" % rc)
            return
        client.subscribe(self.sub_topic, qos=1)
        self.broker["attempts"] = 0
        self._broker("connected", None)

    def _on_disconnect(self, client, userdata, flags, rc, props=None):
        self._broker("connecting", "disconnected: %s" % rc)

    def _on_connect_fail(self, client, userdata):
        self.broker["attempts"] += 1
        lo, hi = self.backoff
        self.broker["retry_s"] = min(hi, lo * 2 ** (self.broker["attempts"] - 1))
        self._broker("down", "cannot connect to %s:%d" % (self.host, self.port))

    def _broker(self, state, err):
        if state != self.broker["state"]:
            self.broker["since"] = time.time()
            log.info("broker %s%s", state, " (%s)" % err if err else "")
        self.broker["state"] = state
        if err:
            self.broker["last_error"] = err

    def _on_message(self, client, userdata, m):
        try:
            self._message(m)
        except Exception:  # never let one message stop paho's network loop
            self.stats["errors"] += 1
            log.exception("message on %s", m.topic)

    def _message(self, m):
        rx = time.time()
        self.stats["received"] += 1
        try:
            kind, node, site, msg, text = self.validator.parse(m.topic, m.payload)
        except Invalid as e:
            self.stats["invalid"] += 1
            log.warning("invalid message on %s: %s", m.topic, e.reason)
            self._put(("invalid", e.node or "?", e.site, rx,
                       {"topic": m.topic[:200], "reason": e.reason, "payload": bytes(m.payload[:500]).decode("utf-8", "replace")},
                       False))
            return
        if kind == "cmd":
            return  # commands to a node (ours or an operator's): not node output
        if kind == "capture":
            msg = self._captures.add(node, msg, rx)
            if msg is None:
                return
        self._put((kind, node, site, rx, msg, bool(m.retain), text))

    def _put(self, item):
        with self._cv:
            if len(self._q) + len(self._pending) >= self.buffer_max:
                old = self._q.popleft() if self._q else item
                self.stats["buffer_lost"] += 1
                if old[0] == "telemetry":
                    self.stats["buffer_lost_readings"] += 1
                if old is item:
                    return
            self._q.append(item)
            self._cv.notify()

    # ---- writer thread -------------------------------------------------------------------
    def _write_loop(self):
        delay = 0.2
        last_health = 0.0
        last_prune = 0.0  # (at start, then every 10 minutes)
        while True:
            with self._cv:
                if not self._q and not self._stop.is_set():
                    self._cv.wait(0.5)
                while self._q and len(self._pending) < self.batch_max:
                    self._pending.append(self._q.popleft())
                batch = list(self._pending)
            now = time.time()
            if batch:
                try:
                    news = self._store(batch)
                except DbError as e:
                    with self._cv:  # back to the front of the buffer, where the bound drops the oldest
                        self._q.extendleft(reversed(self._pending))
                        self._pending = []
                    self._db_state("error", str(e))
                    if self._stop.wait(delay):
                        self._lost_at_stop()
                        return
                    delay = min(delay * 2, 5.0)
                    continue
                with self._cv:
                    self._pending = []
                delay = 0.2
                self.stats["stored"] += len(batch)
                self.stats["batches"] += 1
                self._db_state("ok", None)
                self._notify(news)
            elif self._stop.is_set():
                return
            if len(self._captures):
                for node, rec in self._captures.expire(now):
                    self._put(("capture", node, None, now, rec, False))
            if now - last_health >= self.health_interval_s:
                last_health = now
                try:
                    self.store.put_health(self.name, self.health())
                except DbError as e:
                    self._db_state("error", str(e))
                self._notify([("health", None, self.health())])
            if self.store.retention_s and now - last_prune > 600:
                last_prune = now
                try:
                    self.store.prune(now)
                except DbError as e:
                    self._db_state("error", str(e))

    def _store(self, batch):
        """Store a batch; when the database refuses its data (DataError: a value out of range,
        ...), store its messages one by one and each refused one as an invalid message with the
        database's reason. Raises DbError (transient) with what is not stored left in _pending."""
        try:
            return self.store.write_batch(batch)
        except DataError:
            pass
        news = []
        for it in batch:
            try:
                news += self.store.write_batch([it])
            except DataError as e:
                log.warning("%s from %s not storable: %s", it[0], it[1], e)
                self.stats["invalid"] += 1
                raw = it[6] if len(it) > 6 and it[6] else json.dumps(it[4], default=str)
                bad = ("invalid", it[1], it[2], it[3], {"topic": "(%s)" % it[0], "reason": "not storable: %s" % e,
                                                         "payload": raw[:500].replace("\x00", "")}, False)
                try:
                    news += self.store.write_batch([bad])
                except DataError:
                    self.stats["unstorable"] += 1
            with self._cv:
                self._pending.pop(0)
        return news

    def _lost_at_stop(self):
        """Stopped while the database is failing: what is still buffered is lost; say so."""
        with self._cv:
            left = list(self._q) + self._pending
            self._q.clear()
            self._pending = []
        if left:
            self.stats["buffer_lost"] += len(left)
            self.stats["buffer_lost_readings"] += sum(1 for it in left if it[0] == "telemetry")
            log.warning("stopped with the database failing: %d buffered messages lost", len(left))

    def _db_state(self, state, err):
        if state != self.db["state"]:
            self.db["since"] = time.time()
            log.warning("database %s%s", state, " (%s)" % err if err else "")
        self.db["state"] = state
        if err:
            self.db["last_error"] = err

    def _notify(self, news):
        if not news:
            return
        for cb in list(self._callbacks):
            try:
                cb(news)
            except Exception:
                log.exception("update callback failed")


def main(argv=None):
    """cd tools && ../.venv/bin/python -m vnmon.collector --db monitor.db --port 1883"""
    import argparse
    ap = argparse.ArgumentParser(description="store vibenode messages (SQLite file or PostgreSQL DSN)")
    ap.add_argument("--db", default="monitor.db", help="SQLite file or postgresql://... DSN (monitor.db)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--prefix", default="vibenode")
    ap.add_argument("--site")
    ap.add_argument("--node")
    ap.add_argument("--share", help="shared subscription group ($share/<group>/...)")
    ap.add_argument("--retention-days", type=float, default=0, help="prune what is older (0: keep all)")
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from vnmon.store import Store
    store = Store(a.db, retention_s=a.retention_days * 86400 or None)
    c = Collector(store, a.host, a.port, a.prefix, a.site, a.node, a.share).start()
    t0 = time.time()
    try:
        while not a.duration or time.time() - t0 < a.duration:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    c.stop()
    print(json.dumps(c.health()))



if __name__ == "__main__":
    main()
