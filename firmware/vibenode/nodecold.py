# The node's rarely run code (vibenode/node.py calls it through Node._cold: loaded for the call and
# dropped after, since imported .mpy code sits in the heap): the status payload (built on a state
# change), the birth and events after a connect, the boot steps of run(), captures, a deliberate
# reboot, the config's promotion to last good, the watchdog's limits and start.
import json

from vibenode import VERSION, drop
from vibenode.log import log


def status(node, state="online"):
    sup = node.sup
    sense = node.sense
    eng = sense.engine
    if node._hash is None:
        node._hash = config_hash(node)
    st = {"state": state, "node": node.cfg["node_id"], "fw": VERSION, "board": node.board.NAME,
          "sensors": sense.names(), "engine": eng.impl if eng else None, "errors": node.errors,
          "reset_cause": node.board.reset_cause(), "config": node.config_state,
          "config_hash": node._hash, "seq0": node.seqc.first, "queued": len(node.queue),
          "lost_storage": node.queue.lost_storage, "link_failures": node.link.failures,
          "interval_s": node.interval_ms / 1000, "window": sense.n, "env_band": node.env_band}
    if node.baseline is not None:
        st["baseline"] = b = node.baseline.status()
        st["learning"] = b["learning"]
    if sup is not None:
        st["boot"] = sup.info()
        st["safe_mode"] = sup.safe_mode
    return json.dumps(st)


def publish_status(node):
    node.out.status(status(node))


def start(node, safe):
    """run()'s first steps; True: sleep mode (run() hands over to vibenode/duty.py)."""
    log("boot", "vibenode %s on board %s, node %s%s" % (VERSION, node.board.NAME, node.cfg["node_id"],
                                                       " (SAFE MODE)" if safe else ""))
    if (node.cfg.get("power") or {}).get("mode") == "sleep":
        return True
    if not safe:
        node.sense.ensure()  # so the birth message names what was found
    node.link.connect()
    start_watchdog(node)
    if node.offline is False:  # no broker for portal.offline_s: offer the portal
        from vibenode.appboot import offline_watch  # (main() makes it at boot, before the node's buffers)
        node.offline = offline_watch(node.cfg, node.clock)
        offline_watch = None
        drop("vibenode.appboot")
    return False


def promote(node):
    """After the first published reading: the config the node runs on becomes the last good one."""
    node.promoted = True
    if node.config_state.get("source") == "config.json":
        try:
            from vibenode import lastgood
            lastgood.promote()
        except Exception as e:  # (full flash, no heap): the old last good pair stays
            log("config", "not kept as last good: %r" % (e,))
        lastgood = None
        drop("vibenode.lastgood")


def capture_gone(node):
    rid, kind = node.capture_req[0], node.capture_req[1]
    node.capture_req = None
    node.out.event("capture_failed", {"id": rid, "kind": kind, "error": "no sensor running"})


def wdt_limits(node):
    """How long each subsystem may go without progress: the sampler one interval plus a
    window plus the blocking link work of a cycle (connect, CONNACK, birth, subscribe,
    publishes: each bounded by the socket timeout); the link that blocking work."""
    t = int(node.cfg["mqtt"].get("timeout_s", 5) * 1000)
    win_ms = node.sense.n * 1000 // max(1, node.cfg["sampling"]["rate"])
    limits = {"link": 10 * t + 5000}
    if node.sup is not None and not node.sup.safe_mode:
        limits["sampler"] = node.interval_ms + win_ms + 10 * t + 5000
    return limits


def config_hash(node):
    """The running config file's hash (first 6 bytes of its SHA-256, hex) for status."""
    try:
        import hashlib
        import binascii
        with open(node.config_state.get("source") or "config.json", "rb") as f:
            return binascii.hexlify(hashlib.sha256(f.read()).digest()[:6]).decode()
    except Exception:
        return "unknown"


def link_up(node, link):
    """After each connect: birth (status), the command subscription, link_up/takeover/dropped/crash events."""
    log("link", "connected to %s:%d" % (link.host, link.port))
    if node.integ is not None:  # (Sparkplug: the NBIRTH is the session's first message)
        node.integ.on_up(link)
    out = node.out
    if link.takeover:  # (sessions cut right after CONNACK: another client has our id)
        node.errors["link"] = link.takeover
    # commands first, then the birth: whoever answers the birth with a command is heard
    if not link.subscribe(node.topics.cmd, 1):
        return
    if not out.status(status(node)):
        return
    ev = node.counters()
    ev["outage_ms"] = link.last_down_ms
    ev["last_error"] = link.down_error
    out.event("link_up", ev)
    if node.otactl is not None:
        node.otactl.link_up(node)
    if link.takeover:
        out.event("takeover", {"error": link.takeover, "count": link.takeovers,
                               "session_ms": link.last_session_ms})
    d = out.dropped_since()
    if d:
        out.event("dropped", {"count": d, "total": node.queue.dropped})
    sup = node.sup
    if sup is not None and sup.crash_trace and link.up:
        if out.event("crash", {"boot": sup.boots - 1, "trace": sup.crash_trace}):
            sup.crash_published()


def serve_capture(node, seq):
    rid, kind, ax = node.capture_req
    node.capture_req = None
    sense = node.sense
    axes = (0, 1, 2) if ax == "all" else ("xyz".index(ax),)
    from report import capture
    link = node.link
    head = {"id": rid, "node": node.cfg["node_id"], "seq": seq}
    if kind == "waveform":
        t = node.topics.waveform
        ok = capture.waveform(lambda m: link.publish(t, m, qos=1), head, axes, sense.sampler, sense.accel.rate,
                              sense.accel.scale)
    elif kind == "envelope":
        t = node.topics.spectrum
        ok = capture.spectrum(lambda m: link.publish(t, m, qos=1), head, axes, sense.wide.f, "envelope")
    else:
        t = node.topics.spectrum
        ok = capture.spectrum(lambda m: link.publish(t, m, qos=1), head, axes, sense.engine)
    capture = None
    drop("report.capture")
    if not ok:
        node.out.event("capture_failed", {"id": rid, "kind": kind, "error": link.last_error})


def reboot(node):
    """Deliberate restart: exact sequence number and queue position saved first (no gap)."""
    log("cmd", "reboot requested")
    node.out.save()
    if node.sup is not None and node.sup.safe_mode:
        node.sup.clear_safe_mode()
    if node.link.up:
        node.out.status(status(node, "rebooting"))
        if node.integ is not None:
            node.integ.death()
    node.link.disconnect()
    import machine
    machine.reset()


def start_watchdog(node):
    """The chip's watchdog covers the longest stretch without a feed (feeds happen between
    windows, every <= 100 ms): the longest window (4096 samples) plus the blocking link work.
    Whether to feed is decided by the progress limits (wdt_limits)."""
    sup = node.sup
    if sup is None:
        return
    t = int(node.cfg["mqtt"].get("timeout_s", 5) * 1000)
    win_max = 4096 * 1000 // max(1, node.cfg["sampling"]["rate"])
    sup.start_wdt(win_max + 10 * t + 10000, wdt_limits(node))
