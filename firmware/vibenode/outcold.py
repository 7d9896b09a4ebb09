# The outbox's rare code (vibenode/outbox.py): its construction at boot, queueing a reading the
# link could not deliver, replaying the queue once the link is back, the counters, the save before a deliberate restart. Outbox._cold loads
# this for one call and drops it after; functions over the Outbox ob.
import json

from link.mqtt import MqttLink
from report.encode import replayed
from report.topics import Topics
from store.queue import Queue
from store.seqno import SeqCounter
from vibenode.log import log
from vibenode.outbox import K_TELEMETRY


def init(ob, cfg, board, enc, ssl, on_error):
    m = cfg["mqtt"]
    ob.node_id = nid = cfg["node_id"]
    ob.clock = clock = board.clock
    ob.on_error = on_error  # (key, message or None once it cleared): storage trouble
    ob.topics = t = Topics(m["prefix"], cfg["site"], nid)
    lk = cfg.get("link") or {}
    nets = (cfg.get("wifi") or {}).get("networks") or []
    wifi = None
    if nets:
        from link.wifi import Wifi
        wifi = Wifi(board.wlan(), nets, clock, log)
    ob.link = MqttLink(nid, m["host"], m["port"], clock, keepalive=m.get("keepalive", 30),
                       user=m.get("user"), password=m.get("password"), will_topic=t.status,
                       will_msg=json.dumps({"state": "offline", "node": nid}),
                       timeout_s=m.get("timeout_s", 5), ssl=ssl, log=log, wifi=wifi,
                       dns=lk.get("dns"),  # "dhcp" / "a.b.c.d[:port]": bounded lookups (link/dns.py)
                       backoff_min_ms=int(lk.get("backoff_min_s", 0.5) * 1000),
                       backoff_max_ms=int(lk.get("backoff_max_s", 60) * 1000),
                       # a sleepy node's session persists: commands sent while it sleeps wait at the broker
                       clean=(cfg.get("power") or {}).get("mode") != "sleep")
    ob.enc = enc  # report.encode.Encoder: every reading is encoded into its buffer
    st = cfg.get("store") or {}
    ob.seqc = SeqCounter(st.get("seq_file", "seq.json"), block=st.get("seq_block", 100))
    # the queue's replay buffer is the encoder's (1 KB less; a replay never overlaps an
    # encoding: pump() publishes each record before the next reading is encoded)
    ob.queue = q = Queue(st.get("dir", "queue"), capacity=1 << 30, log=log, buf=enc.buf)
    q.capacity = capacity(st, len(q), int(cfg["sampling"]["interval_s"] * 1000))
    ob.sent = 0  # readings delivered directly
    ob.replayed = 0  # readings delivered from the queue
    ob.queued = 0  # readings that went to the queue
    ob.dropped_reported = q.dropped


def capacity(st, held, interval_ms):
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


def queue(ob, kind, obj, payload):
    """A reading the link did not take goes to the queue (StorageError when the filesystem
    refuses it: the caller reports it)."""
    q = ob.queue
    q.push(kind, payload)
    ob.queued += kind == K_TELEMETRY
    ob.store_health()  # the first write that works again clears the error
    if kind == K_TELEMETRY:
        log("report", "seq %d not delivered (%s); queued (%d)" % (obj["seq"], ob.link.last_error or
                                                                 "replay pending", len(q)))
    else:
        log("report", "alarm (seq %d) queued (%d)" % (obj["seq"], len(q)))


def replay(ob, deadline_ms, limit):
    """Outbox.pump with readings queued and the link up."""
    q = ob.queue
    n = 0
    clock = ob.clock
    while n < limit and len(q) and ob.link.up:
        if deadline_ms is not None and clock.ticks_diff(deadline_ms, clock.ticks_ms()) <= 0:
            break
        r = q.peek()
        if r is None:
            break
        kind, payload = r
        if not ob.link.publish(ob.topic(kind), replayed(payload), qos=1):
            break
        q.pop()  # (a checkpoint the filesystem refuses: q.error; peek pauses the replay)
        n += 1
        ob.replayed += kind == K_TELEMETRY
    r = payload = None
    if n and not len(q):
        q.save_head()
    q.idle()  # (the queue's replay code is loaded again by the next pump)
    if n and not len(q):
        ob.event("replayed", {"count": ob.replayed, "dropped": q.dropped})
    if n or q.error is not None:
        ob.store_health()
    return n


def counters(ob):
    q = ob.queue
    lk = ob.link
    return {"queued": len(q), "dropped": q.dropped, "sent": ob.sent, "replayed": ob.replayed,
            "connects": lk.connects, "link_failures": lk.failures, "seq": ob.seqc.last(),
            "lost_storage": q.lost_storage, "unsaved": q.unsaved}


def save(ob):
    ob.seqc.save_exact()
    ob.queue.save_head()
    ob.queue.idle()
