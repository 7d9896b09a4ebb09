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
# What runs rarely (status building, a connect's birth and events, the boot steps of run(),
# captures, reboot, the watchdog's limits) is vibenode/nodecold.py, loaded for the call and dropped after.
import gc

from micropython import const

from vibenode import drop
from vibenode.log import log

_INBOX = const(16)
_IDLE = const(2)  # process() calls (one per <= 100 ms slice) without a command before the handler goes


class Inbox:
    """Commands from the link (its callback may run inside a publish: only queue, bounded)."""

    def __init__(self, node, ctl=None):
        self.node = node
        self.ctl = ctl  # a fixed control object (tests of the reporting path), else vibenode.control's
        self.msgs = []
        self.received = 0
        self.dropped = 0  # messages that arrived while the inbox was full, or found no heap to be answered
        self.retained = []  # retained commands answered this boot (vibenode/commands.py)
        self.answered = 0  # acks sent
        self._h = None  # vibenode.commands.Commands while loaded
        self._idle = 0

    def on_message(self, topic, msg, head, size, retain=False):
        ota = getattr(self.node, "ota", None)
        if ota is not None and ota.take(topic, msg):  # an update chunk (lib/ota/session.py): held, one
            return
        ig = getattr(self.node, "integ", None)  # Home Assistant's birth, Sparkplug NCMD
        if ig is not None and ig.on_message(topic, msg):
            return
        self.received += 1
        if len(self.msgs) >= _INBOX:
            self.dropped += 1
            return
        self.msgs.append((topic, msg, head, size, retain))

    def _handler(self):
        """The command handler, loaded at the first command and kept while commands come."""
        if self._h is None:
            from vibenode.commands import Commands
            if self.ctl is not None:
                self._h = Commands(self.ctl, self.retained)
            else:
                from vibenode.control import Control
                self._h = Commands(Control(self.node), self.retained)
        self._idle = 0
        return self._h

    def _unload(self):
        self._h = None
        for m in ("vibenode.commands", "vibenode.control", "vibenode.cmdcheck", "vibenode.config",
                  "vibenode.lastgood"):
            drop(m)
        gc.collect()

    def handle(self, topic, msg, head=None, size=None, retain=False):
        """The ack (dict) for one message (None: not for this node), by vibenode.commands."""
        return self._handler().handle(topic, msg, head, size, retain)

    def process(self, limit=_INBOX):
        """Handle up to `limit` queued messages; returns how many. The handler's code is loaded
        for them and dropped after _IDLE calls without one (a flood does not load it
        again for every batch: that would take time between windows)."""
        if not self.msgs:
            if self._h is not None:
                self._idle += 1
                if self._idle >= _IDLE:
                    self._unload()
            return 0
        try:
            h = self._handler()
        except MemoryError:  # no free block for the handler's code now: the messages wait (bounded)
            self._unload()
            log("cmd", "no memory to load the command handler: %d waiting" % len(self.msgs))
            return 0
        n = 0
        while self.msgs and n < limit:
            topic, msg, head, size, retain = self.msgs.pop(0)
            n += 1
            try:
                ack = h.reply(topic, msg, head, size, retain)  # (the ack's JSON text)
                if ack is not None:
                    h.ctl.ack(ack)
                    self.answered += 1
            except MemoryError:  # (not even the error ack fitted) the command is lost, not the node
                ack = msg = h = None
                self.dropped += 1
                self._unload()
                log("cmd", "no memory to answer a command: dropped (%d waiting)" % len(self.msgs))
                return n
        return n


class Node:
    def __init__(self, cfg, board, ssl=None, sup=None, config_state=None):
        from vibenode import nodeboot  # (boot-only code: dropped after)
        nodeboot.init(self, Inbox, cfg, board, ssl, sup, config_state)
        nodeboot = None
        drop("vibenode.nodeboot")

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
            self._publish(True)

    def clear_error(self, key):
        if key in self.errors:
            del self.errors[key]
            self._publish(True)

    def changed(self):
        self._publish(False)

    def _publish(self, always):
        """The status again (always: also while the link is down, for the next connect)."""
        if self.out is not None and (always or self.link.up):
            try:
                self.out.status(self.status())
            except MemoryError:  # (as a failed publish: the next change or connect sends it)
                pass

    def config_saved(self):
        self._hash = None  # config.json changed: hashed again for the next status

    def _cold(self, fn, *a):
        """Run vibenode/nodecold.py's fn(node, *a): code a node runs rarely (status, a connect, a
        capture, a reboot, boot steps), loaded for the call and dropped after."""
        self._nest += 1  # (a call from inside another: dropped when the outer one ends)
        try:  # (the import inside: a load that failed part-way is dropped too)
            from vibenode import nodecold
            return getattr(nodecold, fn)(self, *a)
        finally:
            nodecold = None
            self._nest -= 1
            if not self._nest:
                drop("vibenode.nodecold")

    def status(self, state="online"):
        """The status payload (JSON), by vibenode/nodestatus.py (loaded for the call)."""
        try:  # (the import inside: a load that failed part-way is dropped too, not left half made)
            from vibenode import nodestatus
            return nodestatus.status(self, state)
        finally:
            nodestatus = None
            drop("vibenode.nodestatus")

    def _on_link_up(self, link):
        try:
            self._cold("link_up", link)
        except MemoryError:  # no heap for the birth now: the session goes, the next connect tries again
            log("link", "no memory for the birth message: reconnecting")
            link.drop("birth: no memory")

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
                if sense.wide is not None:
                    sense.wide.overlay(rep)
                if sense.env_band() != self.env_band:
                    self.env_band = sense.env_band()
                    self.changed()  # status says which envelope band is in use
            elif c is not None:
                rep = rd.add_temperature(rd.temperature_only(self.cfg["node_id"], self.seqc.take(),
                                                             self.clock.time()), c, None)
        return rep

    def publish_reading(self, rep):
        from report import reading as rd
        bl = self.baseline
        ok = self.out.telemetry(rep if bl is None else bl.observe(rep))
        if ok and self.trial is not None and not self.errors:
            self.trial.healthy()  # the new app delivered a reading: it stays (vibenode/otactl.py)
        if ok and not self.promoted:
            self.promoted = True  # the node ran on its config: it becomes the last good one
            if self.config_state.get("source") == "config.json":
                try:
                    from vibenode import lastgood
                    lastgood.promote()
                except MemoryError as e:  # no heap now: the old last good pair stays, tried at the next reading
                    self.promoted = False
                    log("config", "not kept as last good yet: %r" % (e,))
                except Exception as e:  # (full flash): the old last good pair stays
                    log("config", "not kept as last good: %r" % (e,))
                lastgood = None
                drop("vibenode.lastgood")
        if bl is not None:
            for al in bl.take_alarms():
                self.out.alarm(al)
            if bl.news():
                self.changed()  # learning progress and the baseline level on status
        if self.integ is not None:
            self.integ.reading(rep)
        iso = getattr(self.sense.engine, "iso", None)
        if iso and self.alarms.zone_rule is None:
            self.alarms.set_zones(iso)  # ISO 10816-3 zone changes are alarms too
        for rule, old, new, v, lim in self.alarms.update(rep):
            al = rd.alarm(self.cfg["node_id"], rep, rule, old, new, v, lim)
            log("alarm", "%s %s %s -> %s (%s)" % (rule["metric"], al["axis"], old, new, v))
            self.out.alarm(al)

    def serve_capture(self, seq):
        self._cold("serve_capture", seq)

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
        self._cold("reboot")

    def wdt_limits(self):
        """How long each subsystem may go without progress (vibenode/nodecold.py)."""
        return self._cold("wdt_limits")

    # ---- the schedule ----------------------------------------------------------------------
    def run(self, cycles=None):
        clock = self.clock
        sup = self.sup
        safe = sup is not None and sup.safe_mode
        if self._cold("start", safe):  # boot log, first detection, connect, watchdog, offline watch
            from vibenode.duty import wake
            return wake(self)  # sleep mode: one awake period, then deep sleep (vibenode/duty.py)
        offline = self.offline
        next_ms = clock.ticks_ms()
        done = 0
        while cycles is None or done < cycles:
            self.window(safe)
            if self.capture_req is not None and (safe or self.sense.sampler is None):
                self._cold("capture_gone")  # the sensor went away: say so instead of waiting
            if sup is not None:
                sup.progress("sampler")
            if self.link.takeover != self.errors.get("link"):
                self.set_error("link", self.link.takeover)  # (cleared once a session holds)
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

    def window(self, safe=False):
        """One window's reading, published (or queued) and its capture served. No heap for it
        (a MemoryError) drops this window, counted in the next reading's `dropped` and named on
        status until a reading goes out again: the node goes on measuring, it does not restart."""
        try:
            rep = self.reading(safe)
            if rep is not None:
                self.publish_reading(rep)
                if self.capture_req is not None and "x" in rep:
                    self.serve_capture(rep["seq"])
                rep = None
                if "memory" in self.errors:
                    self.clear_error("memory")
        except MemoryError:
            rep = None
            gc.collect()
            self.sense.windows_dropped += 1
            try:
                self.set_error("memory", "no heap for a reading: window dropped")
            except MemoryError:  # (not even for the error entry: the count stays, the next window tries again)
                pass

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
                if self.integ is not None:
                    self.integ.service()
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
