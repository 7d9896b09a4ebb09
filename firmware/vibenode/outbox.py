# The outbox: every reading gets the next persisted sequence number (store/seqno.py) and goes
# out at QoS 1; when it cannot be delivered, or older ones are still waiting, it goes to the
# store-and-forward queue (store/queue.py), replayed in order between windows once the link
# (link/mqtt.py) is back. Events and command acks go out only while the link is up (QoS 1 / 0).
# Contract: docs/mqtt.md.
import json

from micropython import const

from link.mqtt import MqttLink
from report.encode import dumps, replayed
from report.topics import Topics
from store.queue import Queue
from store.seqno import SeqCounter
from vibenode.log import log

K_TELEMETRY = const(0)  # record kinds in the queue
K_ALARM = const(1)


class Outbox:
    def __init__(self, cfg, board, enc, ssl=None, on_error=None):
        m = cfg["mqtt"]
        self.node_id = nid = cfg["node_id"]
        self.clock = clock = board.clock
        self.on_error = on_error  # (key, message or None once it cleared): storage trouble
        self.topics = t = Topics(m["prefix"], cfg["site"], nid)
        lk = cfg.get("link") or {}
        nets = (cfg.get("wifi") or {}).get("networks") or []
        wifi = None
        if nets:
            from link.wifi import Wifi
            wifi = Wifi(board.wlan(), nets, clock, log)
        self.link = MqttLink(nid, m["host"], m["port"], clock, keepalive=m.get("keepalive", 30),
                             user=m.get("user"), password=m.get("password"), will_topic=t.status,
                             will_msg=json.dumps({"state": "offline", "node": nid}),
                             timeout_s=m.get("timeout_s", 5), ssl=ssl, log=log, wifi=wifi,
                             dns=lk.get("dns"),  # "dhcp" / "a.b.c.d[:port]": bounded lookups (link/dns.py)
                             backoff_min_ms=int(lk.get("backoff_min_s", 0.5) * 1000),
                             backoff_max_ms=int(lk.get("backoff_max_s", 60) * 1000),
                             # a sleepy node's session persists: commands sent while it sleeps wait at the broker
                             clean=(cfg.get("power") or {}).get("mode") != "sleep")
        self.enc = enc  # report.encode.Encoder: every reading is encoded into its buffer
        st = cfg.get("store") or {}
        self.seqc = SeqCounter(st.get("seq_file", "seq.json"), block=st.get("seq_block", 100))
        # the queue's replay buffer is the encoder's (1 KB less; a replay never overlaps an
        # encoding: pump() publishes each record before the next reading is encoded)
        self.queue = q = Queue(st.get("dir", "queue"), capacity=1 << 30, log=log, buf=self.enc.buf)
        q.capacity = self._capacity(st, len(q), int(cfg["sampling"]["interval_s"] * 1000))
        self.sent = 0  # readings delivered directly
        self.replayed = 0  # readings delivered from the queue
        self.queued = 0  # readings that went to the queue
        self.dropped_reported = q.dropped

    @staticmethod
    def _capacity(st, held, interval_ms):
        """Queue capacity in readings: config store.capacity, else 24 h at the interval, bounded
        by half the free filesystem space (plus what the queue already holds) at 1 KB per stored
        reading (a ~700-byte reading, its record header and littlefs block rounding)."""
        cap = st.get("capacity")
        if isinstance(cap, int) and cap > 0:
            return cap
        cap = int(86400 * 1000 // max(1, interval_ms))
        try:
            import os
            v = os.statvfs(".")
            cap = min(cap, v[0] * v[4] // 2 // 1024 + held)
        except Exception:
            pass
        return max(cap, 10)

    def _topic(self, kind):
        return self.topics.alarm if kind == K_ALARM else self.topics.telemetry

    def _encode(self, obj):
        try:
            return self.enc.encode(obj)
        except ValueError:  # larger than the buffer: allocate for this one
            return dumps(obj)

    def send(self, kind, obj):
        """Deliver a reading (QoS 1) or queue it; older queued readings always go first."""
        payload = self._encode(obj)
        q = self.queue
        lk = self.link
        if not len(q) and lk.up:
            if lk.publish(self._topic(kind), payload, qos=1):
                self.sent += kind == K_TELEMETRY  # (counters count readings, not alarms)
                return True
        try:
            q.push(kind, payload)
            self.queued += kind == K_TELEMETRY
            self._store_health()  # the first write that works again clears the error
            if kind == K_TELEMETRY:
                log("report", "seq %d not delivered (%s); queued (%d)" % (obj["seq"], lk.last_error or
                                                                         "replay pending", len(q)))
            else:
                log("report", "alarm (seq %d) queued (%d)" % (obj["seq"], len(q)))
        except Exception as e:  # filesystem full or failing: the reading is lost (q.lost_storage), say so
            if self.on_error is not None:
                self.on_error("store", str(e))  # store.queue.StorageError: "queue: no space left on device"
        return False

    def _store_health(self):
        """The store's errors on status (queue checkpoint or write, sequence reservation), cleared
        once the filesystem takes writes again."""
        if self.on_error is not None:
            self.on_error("store", self.queue.error)
            self.on_error("seq", self.seqc.error)

    def telemetry(self, rep):
        return self.send(K_TELEMETRY, rep)

    def alarm(self, al):
        return self.send(K_ALARM, al)

    def pump(self, deadline_ms=None, limit=16):
        """Replay queued readings in order while the link is up (at most `limit`, and not past
        deadline_ms). Returns how many went out."""
        q = self.queue
        if not len(q) or not self.link.up:  # (nothing to replay: the replay code is not loaded)
            if q.error is not None:
                self._store_health()
            return 0
        n = 0
        clock = self.clock
        while n < limit and len(q) and self.link.up:
            if deadline_ms is not None and clock.ticks_diff(deadline_ms, clock.ticks_ms()) <= 0:
                break
            r = q.peek()
            if r is None:
                break
            kind, payload = r
            if not self.link.publish(self._topic(kind), replayed(payload), qos=1):
                break
            q.pop()  # (a checkpoint the filesystem refuses: q.error; peek pauses the replay)
            n += 1
            self.replayed += kind == K_TELEMETRY
        r = payload = None
        if n and not len(q):
            q.save_head()
        q.idle()  # (the queue's replay code is loaded again by the next pump)
        if n and not len(q):
            self.event("replayed", {"count": self.replayed, "dropped": q.dropped})
        if n or q.error is not None:
            self._store_health()
        return n

    def event(self, name, fields=None):
        if not self.link.up:
            return False
        ev = {"event": name, "node": self.node_id, "ts": self.clock.time()}
        if fields:
            for k in fields:
                ev[k] = fields[k]
        return self.link.publish(self.topics.event, json.dumps(ev), qos=1)

    def ack(self, ack):
        if self.link.up:
            self.link.publish(self.topics.cmd_ack, json.dumps(ack), qos=0)

    def status(self, text):
        """The retained status message (qos 1); False when it did not go out."""
        return self.link.publish(self.topics.status, text, retain=True, qos=1)

    def counters(self):
        q = self.queue
        lk = self.link
        return {"queued": len(q), "dropped": q.dropped, "sent": self.sent, "replayed": self.replayed,
                "connects": lk.connects, "link_failures": lk.failures, "seq": self.seqc.last(),
                "lost_storage": q.lost_storage, "unsaved": q.unsaved}

    def dropped_since(self):
        """Readings the full queue dropped since the last call (reported as an event)."""
        d = self.queue.dropped - self.dropped_reported
        self.dropped_reported = self.queue.dropped
        return d

    def save(self):
        """Exact sequence number and queue position, before a deliberate restart (no gap)."""
        self.seqc.save_exact()
        self.queue.save_head()
