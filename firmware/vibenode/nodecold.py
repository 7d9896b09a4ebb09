# The node's rarely run code (vibenode/node.py calls it through Node._cold: loaded for the call and
# dropped after, since imported .mpy code sits in the heap): the birth and events after a connect,
# the boot steps of run(), captures, a deliberate reboot, the watchdog's limits and start. (The
# status payload is vibenode/nodestatus.py: a state change loads only that.)
from vibenode import VERSION, drop
from vibenode.log import log


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
    err = None
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
        eng = sense.engine
        try:
            ok = capture.spectrum(lambda m: link.publish(t, m, qos=1), head, axes, eng)
        except ValueError as e:  # (the engine was made again since the request: no spectrum kept)
            ok = False
            err = str(e)
        if sense.wide is None:
            eng.export(())  # (kept only while a capture is pending)
        eng = None
    capture = None
    drop("report.capture")
    if not ok:
        node.out.event("capture_failed", {"id": rid, "kind": kind, "error": err or link.last_error})


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
    sup.start_wdt(win_max + 10 * t + 10000, wdt_limits(node))
