# The outbox: every reading gets the next persisted sequence number (store/seqno.py) and goes
# out at QoS 1; when it cannot be delivered, or older ones are still waiting, it goes to the
# store-and-forward queue (store/queue.py), replayed in order between windows once the link
# (link/mqtt.py) is back. Events and command acks go out only while the link is up (QoS 1 / 0).
# Contract: docs/mqtt.md.
import json

from micropython import const

from report.encode import dumps
from vibenode import drop

K_TELEMETRY = const(0)  # record kinds in the queue
K_ALARM = const(1)


class Outbox:
    def __init__(self, cfg, board, enc, ssl=None, on_error=None):
        """cfg: the node's config; enc: report.encode.Encoder (every reading is encoded into its
        buffer); on_error(key, message or None once it cleared): storage trouble."""
        self._cold("init", cfg, board, enc, ssl, on_error)

    def _cold(self, fn, *a):
        """vibenode/outcold.py's fn(self, *a): the outbox's rare code (its construction, queueing
        a reading, replaying the queue, counters, saving), loaded for the call and dropped after."""
        try:  # (the import inside: a load that failed part-way is dropped too)
            from vibenode import outcold
            return getattr(outcold, fn)(self, *a)
        finally:
            outcold = None
            drop("vibenode.outcold")

    def topic(self, kind):
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
            if lk.publish(self.topic(kind), payload, qos=1):
                self.sent += kind == K_TELEMETRY  # (counters count readings, not alarms)
                return True
        try:
            self._cold("queue", kind, obj, payload)
        except Exception as e:  # filesystem full or failing: the reading is lost (q.lost_storage), say so
            if self.on_error is not None:
                self.on_error("store", str(e))  # store.queue.StorageError: "queue: no space left on device"
        return False

    def store_health(self):
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
        if len(q) and self.link.up:  # (the replay's code, and the queue's, loaded while it runs)
            return self._cold("replay", deadline_ms, limit)
        if q.error is not None:
            self.store_health()
        return 0

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
        return self._cold("counters")

    def dropped_since(self):
        """Readings the full queue dropped since the last call (reported as an event)."""
        d = self.queue.dropped - self.dropped_reported
        self.dropped_reported = self.queue.dropped
        return d

    def save(self):
        """Exact sequence number and queue position, before a deliberate restart (no gap)."""
        self._cold("save")
