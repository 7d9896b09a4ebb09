# The node's schedule: (sense -> reading -> outbox)* with the link, replay, commands and the
# watchdog served in small slices between windows.
#
#   sensing (vibenode/sensing.py) -> reading payload (report/reading.py) -> outbox
#   (vibenode/outbox.py: sequence numbers, queue, link)
#
# Measurement never waits for the network beyond the link's bounded socket timeouts, and no
# error escapes the loop: a missing sensor or a dead broker is reported on status and retried.
# Commands arrive on `cmd` into a bounded inbox; vibenode/commands.py handles them through the
# narrow control object of vibenode/control.py; both are loaded for a batch and dropped after. The supervisor
# (vibenode/supervisor.py) feeds the watchdog only while sampling and link progress.
import gc
import json

from micropython import const

from vibenode import VERSION, drop
from vibenode.log import log, set_clock
from vibenode.sensing import Sensing

_INBOX = const(16)


class Inbox:
    """Commands from the link (its callback may run inside a publish: only queue, bounded)."""

    def __init__(self, node, ctl=None):
        self.node = node
        self.ctl = ctl  # a fixed control object (tests of the reporting path), else vibenode.control's
        self.msgs = []
        self.received = 0
        self.dropped = 0  # messages that arrived while the inbox was full
        self.retained = []  # retained commands answered this boot (vibenode/commands.py)

    def on_message(self, topic, msg, head, size, retain=False):
        ota = getattr(self.node, "ota", None)
        if ota is not None and ota.take(topic, msg):  # an update chunk (lib/ota/session.py): held, one
            return
        self.received += 1
        if len(self.msgs) >= _INBOX:
            self.dropped += 1
            return
        self.msgs.append((topic, msg, head, size, retain))

    def _handler(self):
        from vibenode.commands import Commands
        if self.ctl is not None:
            return Commands(self.ctl, self.retained)
        from vibenode.control import Control
        return Commands(Control(self.node), self.retained)

    def _unload(self):
        for m in ("vibenode.commands", "vibenode.control", "vibenode.config"):
            drop(m)
        gc.collect()

    def handle(self, topic, msg, head=None, size=None, retain=False):
        """The ack for one message (None: not for this node), by vibenode.commands."""
        ack = self._handler().handle(topic, msg, head, size, retain)
        self._unload()
        return ack

    def process(self, limit=_INBOX):
        """Handle up to `limit` queued messages (the handler's code is loaded for them and
        dropped after); returns how many."""
        if not self.msgs:
            return 0
        h = self._handler()
        n = 0
        while self.msgs and n < limit:
            topic, msg, head, size, retain = self.msgs.pop(0)
            n += 1
            ack = h.handle(topic, msg, head, size, retain)
            if ack is not None:
                h.ctl.ack(ack)
        h = None
        self._unload()
        return n


class Node:
    def __init__(self, cfg, board, ssl=None, sup=None, config_state=None):
        self.cfg = cfg
        self.board = board
        self.clock = clock = board.clock
        set_clock(clock)
        self.sup = sup
        # config.load()'s findings and the file it ran on (the config code is not kept loaded)
        self.config_state = config_state or {"source": None}
        self.offline = False  # OfflineWatch (None: not armed); made by run() unless main() did
        self.interval_ms = int(cfg["sampling"]["interval_s"] * 1000)
        self.errors = {}
        self.capture_req = None
        self.reboot_req = False
        self.ident_until = None
        self._hash = None
        self.ota = self.trial = None  # an update in progress / the app on probation (vibenode/otactl.py)
        self.out = None  # (errors found while the sensors are looked for go out with the first status)
        # heap order (measured by tools/memory.py, the smallest heap of a few orders): the largest
        # buffers first, while the heap is in one piece (windows, feature engine), then the sensors
        # are looked for (detection code comes and goes), then the rest of the node's code and data
        early = sup is None or not sup.safe_mode
        self.sense = Sensing(cfg, board, self, early=early)
        from report.encode import Encoder
        enc = Encoder(2048)  # the outbox's one 2 KB buffer, while there is a free 2 KB block
        from vibenode.outbox import Outbox
        from report.alarm import Alarms
        from report import reading  # noqa: F401
        if early:
            self.sense.buffers()
        self.out = out = Outbox(cfg, board, enc, ssl, self.set_error)
        enc = None
        self.link = out.link
        self.topics = out.topics
        self.seqc = out.seqc
        self.queue = out.queue
        self.alarms = Alarms(cfg.get("alarms"))
        self.max_window = (cfg.get("reporting") or {}).get("max_window", 4096)
        self.cmds = Inbox(self)
        self.link.on_msg = self.cmds.on_message
        self.link.on_up = self._on_link_up
        nt = cfg.get("ntp") or {}
        self.ntp = None
        if nt.get("host") or clock.time() < 1600000000:  # configured, or the clock was never set
            from link.ntp import Ntp
            self.ntp = Ntp(clock, nt.get("host", "pool.ntp.org"), nt.get("port", 123), nt.get("timeout_s", 1), log)
        self.otactl = None
        import os
        from ota import WORK
        try:
            os.stat(WORK)  # an update or a probation under way (vibenode/otactl.py: loaded until it ends)
            from vibenode import otactl
            self.otactl = otactl
            otactl.resume(self)
        except OSError:
            drop("ota")

    n = property(lambda self: self.sense.n)
    sent = property(lambda self: self.out.sent)

    def counters(self):
        c = self.out.counters()
        c["cmd_dropped"] = self.cmds.dropped
        return c

    # ---- health: errors on the retained status topic ----------------------------------------
    def set_error(self, key, msg):
        """msg None: the error cleared."""
        if msg is None:
            return self.clear_error(key)
        if self.errors.get(key) != msg:
            self.errors[key] = msg
            log("error", key, msg)
            if self.out is not None:
                self.out.status(self.status())

    def clear_error(self, key):
        if key in self.errors:
            del self.errors[key]
            if self.out is not None:
                self.out.status(self.status())

    def changed(self):
        if self.out is not None and self.link.up:
            self.out.status(self.status())

    def config_saved(self):
        self._hash = None  # config.json changed: hashed again for the next status

    def config_hash(self):
        if self._hash is None:
            try:
                import hashlib
                import binascii
                with open(self.config_state.get("source") or "config.json", "rb") as f:
                    self._hash = binascii.hexlify(hashlib.sha256(f.read()).digest()[:6]).decode()
            except Exception:
                self._hash = "unknown"
        return self._hash

    def status(self, state="online"):
        sup = self.sup
        eng = self.sense.engine
        st = {"state": state, "node": self.cfg["node_id"], "fw": VERSION, "board": self.board.NAME,
              "sensors": self.sense.names(), "engine": eng.impl if eng else None, "errors": self.errors,
              "reset_cause": self.board.reset_cause(), "config": self.config_state,
              "config_hash": self.config_hash(), "seq0": self.seqc.first, "queued": len(self.queue),
              "lost_storage": self.queue.lost_storage,
              "interval_s": self.interval_ms / 1000, "window": self.sense.n, "boot": None, "safe_mode": None}
        if sup is not None:
            st["boot"] = sup.info()
            st["safe_mode"] = sup.safe_mode
        else:
            del st["boot"]
            del st["safe_mode"]
        return json.dumps(st)

    def _on_link_up(self, link):
        log("link", "connected to %s:%d" % (link.host, link.port))
        out = self.out
        if not out.status(self.status()):
            return
        if not link.subscribe(self.topics.cmd, 1):
            return
        ev = self.counters()
        ev["outage_ms"] = link.last_down_ms
        ev["last_error"] = link.down_error
        out.event("link_up", ev)
        if self.otactl is not None:
            self.otactl.link_up(self)
        d = out.dropped_since()
        if d:
            out.event("dropped", {"count": d, "total": self.queue.dropped})
        sup = self.sup
        if sup is not None and sup.crash_trace and link.up:
            if out.event("crash", {"boot": sup.boots - 1, "trace": sup.crash_trace}):
                sup.crash_published()

    # ---- one reading -------------------------------------------------------------------------
    def reading(self, safe):
        """The reading of this cycle (a window's features, the temperature) or None."""
        sense = self.sense
        from report import reading as rd
        rep = None
        if not safe:
            win = sense.measure() if sense.ensure() else False
            c = sense.temperature()  # with or without accelerometer
            if win:
                s = sense.sampler
                rep = rd.telemetry(self.cfg["node_id"], self.seqc.take(), self.clock.time(), s, sense.engine,
                                   sense.accel.rate, sense.windows_dropped)
                rd.add_temperature(rep, c, sense.die_c())
            elif c is not None:
                rep = rd.add_temperature(rd.temperature_only(self.cfg["node_id"], self.seqc.take(),
                                                             self.clock.time()), c, None)
        return rep

    def publish_reading(self, rep):
        from report import reading as rd
        if self.out.telemetry(rep) and self.trial is not None and not self.errors:
            self.trial.healthy()  # the new app delivered a reading: it stays
        for rule, old, new, v, lim in self.alarms.update(rep):
            al = rd.alarm(self.cfg["node_id"], rep, rule, old, new, v, lim)
            log("alarm", "%s %s %s -> %s (%s)" % (rule["metric"], al["axis"], old, new, v))
            self.out.alarm(al)

    def serve_capture(self, seq):
        rid, kind, ax = self.capture_req
        self.capture_req = None
        sense = self.sense
        axes = (0, 1, 2) if ax == "all" else ("xyz".index(ax),)
        from report import capture
        link = self.link
        head = {"id": rid, "node": self.cfg["node_id"], "seq": seq}
        if kind == "waveform":
            t = self.topics.waveform
            ok = capture.waveform(lambda m: link.publish(t, m, qos=1), head, axes, sense.sampler, sense.accel.rate,
                                  sense.accel.scale)
        else:
            t = self.topics.spectrum
            ok = capture.spectrum(lambda m: link.publish(t, m, qos=1), head, axes, sense.engine)
        capture = None
        drop("report.capture")
        if not ok:
            self.out.event("capture_failed", {"id": rid, "kind": kind, "error": link.last_error})

    # ---- identify, reboot, watchdog -------------------------------------------------------
    def _blink(self):
        c = self.clock
        if self.ident_until is None:
            return
        pins = getattr(self.board, "PINS", None) or {}
        led = pins.get("led") if isinstance(pins, dict) else None
        on = c.ticks_diff(self.ident_until, c.ticks_ms()) > 0
        if led is not None:
            try:
                self.board.pin(led).value(1 if on and (c.ticks_ms() // 250) & 1 else 0)
            except Exception:
                pass
        if not on:
            self.ident_until = None

    def reboot(self):
        """Deliberate restart: exact sequence number and queue position saved first (no gap)."""
        log("cmd", "reboot requested")
        self.out.save()
        if self.sup is not None and self.sup.safe_mode:
            self.sup.clear_safe_mode()
        if self.link.up:
            self.out.status(self.status("rebooting"))
        self.link.disconnect()
        import machine
        machine.reset()

    def wdt_limits(self):
        """How long each subsystem may go without progress: the sampler one interval plus a
        window plus the blocking link work of a cycle (connect, CONNACK, birth, subscribe,
        publishes: each bounded by the socket timeout); the link that blocking work."""
        t = int(self.cfg["mqtt"].get("timeout_s", 5) * 1000)
        win_ms = self.sense.n * 1000 // max(1, self.cfg["sampling"]["rate"])
        limits = {"link": 10 * t + 5000}
        if self.sup is not None and not self.sup.safe_mode:
            limits["sampler"] = self.interval_ms + win_ms + 10 * t + 5000
        return limits

    def start_watchdog(self):
        """The chip's watchdog covers the longest stretch without a feed (feeds happen between
        windows, every <= 100 ms): the longest window (4096 samples) plus the blocking link work.
        Whether to feed is decided by the progress limits (wdt_limits)."""
        sup = self.sup
        if sup is None:
            return
        t = int(self.cfg["mqtt"].get("timeout_s", 5) * 1000)
        win_max = 4096 * 1000 // max(1, self.cfg["sampling"]["rate"])
        sup.start_wdt(win_max + 10 * t + 10000, self.wdt_limits())

    # ---- the schedule ----------------------------------------------------------------------
    def run(self, cycles=None):
        clock = self.clock
        sup = self.sup
        safe = sup is not None and sup.safe_mode
        log("boot", "vibenode %s on board %s, node %s%s" % (VERSION, self.board.NAME, self.cfg["node_id"],
                                                           " (SAFE MODE)" if safe else ""))
        if not safe:
            self.sense.ensure()  # so the birth message names what was found
        self.link.connect()
        self.start_watchdog()
        offline = self.offline  # no broker for portal.offline_s: offer the portal
        if offline is False:  # (main() makes it at boot, before the node's buffers)
            from vibenode.app import offline_watch
            offline = self.offline = offline_watch(self.cfg, clock)
        next_ms = clock.ticks_ms()
        done = 0
        while cycles is None or done < cycles:
            rep = self.reading(safe)
            if rep is not None:
                self.publish_reading(rep)
                if self.capture_req is not None and "x" in rep:
                    self.serve_capture(rep["seq"])
                rep = None
            if self.capture_req is not None and (safe or self.sense.sampler is None):
                rid, kind = self.capture_req[0], self.capture_req[1]
                self.capture_req = None  # the sensor went away: say so instead of waiting
                self.out.event("capture_failed", {"id": rid, "kind": kind, "error": "no sensor running"})
            if sup is not None:
                sup.progress("sampler")
            if self.trial is not None:
                self.trial.check()  # on probation too long without a delivered reading: roll back
            done += 1
            if offline is not None:
                offline.check(self.link.up)
            gc.collect()
            next_ms = clock.ticks_add(next_ms, self.interval_ms)
            self._between(next_ms, safe)
            if self.capture_req is not None:
                next_ms = clock.ticks_ms()
            if clock.ticks_diff(clock.ticks_ms(), next_ms) > self.interval_ms:
                next_ms = clock.ticks_ms()  # fell behind by more than an interval: don't burst

    def _between(self, next_ms, safe):
        """Between windows: link, replay, commands in small slices until the next window is due."""
        clock = self.clock
        sup = self.sup
        link = self.link
        while True:
            left = clock.ticks_diff(next_ms, clock.ticks_ms())
            if left <= 0:
                break
            # the clock first: TLS certificate checks need the time (an unset ESP32 clock makes
            # every certificate "not yet valid")
            if self.ntp is not None and link.net_up():
                self.ntp.service()
            link.service()
            if sup is not None:
                sup.progress("link")
            if link.up:
                self.out.pump(next_ms)
                self.cmds.process()
            if self.ota is not None:
                self.otactl.service(self)
            if self.reboot_req:
                self.reboot()
            self._blink()
            if self.capture_req is not None and not safe:
                break  # capture now: start the next window at once
            if sup is not None:
                sup.feed()
                sup.tick()
            left = clock.ticks_diff(next_ms, clock.ticks_ms())
            if left > 0:
                clock.sleep_ms(min(left, 100))
