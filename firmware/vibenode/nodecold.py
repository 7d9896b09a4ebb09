# The node's rarely run code (vibenode/node.py calls it through Node._cold: loaded for the call and
# dropped after, since imported .mpy code sits in the heap): the birth and events after a connect,
# captures, identify, a deliberate reboot, the status hash and the watchdog's start.
from vibenode import drop
from vibenode.log import log


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
    if not out.status(node.status()):
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
        node.out.status(node.status("rebooting"))
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
    sup.start_wdt(win_max + 10 * t + 10000, node.wdt_limits())
