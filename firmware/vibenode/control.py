# What the command handler (vibenode/commands.py) may do to the node (vibenode/node.py), and
# no more. Loaded with the handler for a batch of commands, dropped after.
import json

from vibenode.log import log


class Control:
    """What the command handler (vibenode/commands.py) may do to the node, and no more."""

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

    def save(self, section, upd, replace=False):
        """Save accepted settings in config.json (validated, atomic, last good kept) and in the
        running config. Returns an error text, or None when saved."""
        n = self._node
        from vibenode import config
        try:
            # start from the file the node runs on: config.json, or the last good copy when
            # config.json is broken (saving then repairs config.json)
            with open(n.config_state.get("source") or config.PATH) as f:
                raw = json.load(f)
            sec = raw.get(section)
            if replace or not isinstance(sec, dict):
                sec = {}
            for k in upd:
                sec[k] = upd[k]
            raw[section] = sec
            config.save(raw)
        except Exception as e:
            return "%s: %s" % (type(e).__name__, e)
        cur = n.cfg.get(section)
        if replace or not isinstance(cur, dict):
            n.cfg[section] = dict(upd)
        else:
            for k in upd:
                cur[k] = upd[k]
        n.config_saved()
        return None

    def set_sampling(self, interval_s, window):
        n = self._node
        if interval_s is not None:
            n.interval_ms = int(interval_s * 1000)
        if window is not None:
            n.sense.set_window(window)
        if n.sup is not None:
            n.sup.limits = n.wdt_limits()  # a longer interval means rarer sampler progress
        return {"interval_s": n.interval_ms / 1000, "window": n.sense.n}

    def set_alarms(self, spec):
        self._node.alarms.configure(spec)

    def baseline(self):
        """The node's baseline model (lib/baseline/model.py) or None (no baseline section)."""
        return self._node.baseline

    def capture(self, rid, kind, axis):
        n = self._node
        if n.sense.sampler is None:
            return ValueError("no sensor running")
        if kind == "spectrum" and not n.sense.has_spectrum():
            return ValueError("spectrum unavailable (the feature engine does not export one)")
        if kind == "envelope" and n.sense.wide is None:
            return ValueError("envelope unavailable (no wide-band accelerometer)")
        if n.capture_req is not None:
            return ValueError("one already pending")
        n.capture_req = (rid, kind, axis)
        return n.topics.waveform if kind == "waveform" else n.topics.spectrum

    def identify(self, seconds):
        """Blink the board's LED (PINS["led"], if it has one) for `seconds`; always logged."""
        n = self._node
        n.ident_until = n.clock.ticks_add(n.clock.ticks_ms(), seconds * 1000)
        log("identify", "for %d s" % seconds)

    def reboot(self):
        self._node.reboot_req = True

    def decommission(self):
        """Remove the node from Home Assistant (empty retained discovery) and save ha.enabled
        false so it is not announced again; the node keeps measuring."""
        ig = self._node.integ
        r = ig.decommission() if ig is not None else {}
        if r.get("ha_removed"):
            e = self.save("ha", {"enabled": False})
            if e:
                r["error"] = e
        return r

    def ota(self, rid, version, trial_s=600, url=None):
        """Start an application update (lib/ota; its code stays loaded until it ends). None or
        an error text."""
        n = self._node
        from vibenode import otactl
        n.otactl = otactl
        return otactl.start(n, rid, version, trial_s, url)

    def ack(self, ack):
        self._node.out.ack(ack)
