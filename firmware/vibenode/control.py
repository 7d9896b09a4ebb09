# What the command handlers (vibenode/commands.py and its cmd_*.py families) may do to the node
# (vibenode/node.py), and no more. Loaded with the dispatcher for a batch of commands, dropped
# after. The operations that write config.json or start an update (save, decommission, ota) live
# in vibenode/cmd_ctl.py, loaded for the one call and dropped after (they load config or lib/ota
# anyway), so this object stays small in the heap while commands are handled.
from vibenode import drop
from vibenode.log import log


class Control:
    """What the command handlers may do to the node, and no more."""

    def __init__(self, node):
        self._node = node
        self.node_id = node.cfg["node_id"]
        self.cmd_topic = node.topics.cmd
        self.max_window = node.max_window

    def ping(self):
        n = self._node
        r = {"uptime_s": n.clock.now_us() // 1000000, "seq": n.seqc.last(), "queued": len(n.queue)}
        sup = n.sup
        if sup is not None:
            r["wdt_feeds"] = sup.feeds
            r["wdt_refused"] = sup.refused  # feeds withheld because a subsystem stalled
        return r

    def config(self):
        return self._node.cfg

    def time(self):
        return self._node.clock.time()

    def baseline(self):
        """The node's baseline model (lib/baseline/model.py) or None (no baseline section)."""
        return self._node.baseline

    def set_alarms(self, spec):
        self._node.alarms.configure(spec)

    def reboot(self):
        self._node.reboot_req = True

    def ack(self, text):
        """Publish an ack's JSON text (commands.Commands.reply) on cmd/ack, qos 0, when the link is
        up; the text is sent as it is (no encoded copy)."""
        n = self._node
        if n.link.up:
            n.link.publish(n.topics.cmd_ack, memoryview(text), qos=0)

    def _cold(self, fn, *a):
        from vibenode import cmd_ctl
        try:
            return getattr(cmd_ctl, fn)(self._node, *a)
        finally:
            cmd_ctl = None
            drop("vibenode.cmd_ctl")

    def save(self, section, upd, replace=False):
        """Save accepted settings in config.json (validated, atomic, last good kept) and in the
        running config. Returns an error text, or None when saved."""
        return self._cold("save", section, upd, replace)

    def set_sampling(self, interval_s, window):
        """Apply a new interval and/or window now: {"interval_s", "window"} in force."""
        n = self._node
        if interval_s is not None:
            n.interval_ms = int(interval_s * 1000)
        if window is not None:
            n.sense.set_window(window)
        if n.sup is not None:
            n.sup.limits = n.wdt_limits()  # a longer interval means rarer sampler progress
        return {"interval_s": n.interval_ms / 1000, "window": n.sense.n}

    def capture(self, rid, kind, axis):
        """Ask for a capture with the next window: the topic it will go to, or a ValueError."""
        n = self._node
        s = n.sense
        if s.sampler is None:
            return ValueError("no sensor running")
        if kind == "spectrum" and not s.has_spectrum():
            return ValueError("spectrum unavailable (the feature engine does not export one)")
        if kind == "envelope" and s.wide is None:
            return ValueError("envelope unavailable (no wide-band accelerometer)")
        if n.capture_req is not None:
            return ValueError("one already pending")
        n.capture_req = (rid, kind, axis)
        if kind == "spectrum" and s.wide is None:  # the engine keeps the axes' spectra from the next window
            s.engine.export((0, 1, 2) if axis == "all" else ("xyz".index(axis),))
        return n.topics.waveform if kind == "waveform" else n.topics.spectrum

    def identify(self, seconds):
        """Blink the board's LED (PINS["led"], if it has one) for `seconds`; always logged."""
        n = self._node
        n.ident_until = n.clock.ticks_add(n.clock.ticks_ms(), seconds * 1000)
        log("identify", "for %d s" % seconds)

    def decommission(self):
        """Remove the node from Home Assistant and save ha.enabled false: {"ha_removed": bool}."""
        return self._cold("decommission")

    def ota(self, rid, version, trial_s=600, url=None):
        """Start an application update (lib/ota; its code stays loaded until it ends). None or
        an error text."""
        return self._cold("ota", rid, version, trial_s, url)
