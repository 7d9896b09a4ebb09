# Deep-sleep duty cycling (config power.mode "sleep"): one awake period per boot, then deep sleep.
#
#   wake -> sample one window (radio still off) -> connect (persistent session) -> publish it
#   (QoS 1, PUBACK) or queue it -> replay the backlog -> commands the broker kept for the node ->
#   retained status "sleeping" with the next wake -> clean DISCONNECT (no will) -> deep sleep
#
# What survives the sleep sits in the board's RTC memory (ESP32: machine.RTC().memory(), 2 KB;
# the host board keeps it in rtc.json): the exact next sequence number (so no reservation gap and
# no flash write per wake), the counters, the alarm states, the outage bookkeeping and the time
# awake. The queue's replay position is checkpointed on flash before every sleep. The RTC memory is
# trusted only after a deep-sleep wake: any other reset falls back to flash (the sequence's
# reserved limit: a gap, never a duplicate).
#
# The awake period is bounded twice: each step stops at power.awake_max_s (the link's own calls
# are bounded by mqtt.timeout_s), and the chip's watchdog, started with that bound plus the
# timeouts of one last round (status, DISCONNECT) and never fed, resets a chip that hangs past it.
# Loaded by node.run() only in sleep mode (vibenode/node.py).
import json
from time import ticks_diff, ticks_ms

from micropython import const

from vibenode.log import log

_TRIES = const(3)  # broker connect attempts per wake (then the reading waits in the queue)
_ROUNDS = const(4)  # command batches per wake at most (commands arriving while others are answered)
_MIN_SLEEP_MS = const(1000)
_REPLAY = const(16)  # records per pump() call


def wake(node):
    """One awake period of a sleepy node; ends in the board's deep sleep (does not return on a
    device; the host board's deep sleep unwinds to hostboot)."""
    Duty(node).run()


class Duty:
    def __init__(self, node):
        self.node = node
        p = node.cfg["power"]
        self.interval_ms = p["interval_s"] * 1000
        self.max_ms = p["awake_max_s"] * 1000  # ticks since boot: the awake period's bound
        self.clock = node.clock
        self.cause = node.board.reset_cause()
        self.st = {}  # what RTC memory keeps through the sleep
        self.seq = None  # this wake's reading, when it has a window (a capture serves it)
        self.said = False  # status "sleeping" went out
        self.tmo = node.cfg["mqtt"].get("timeout_s", 5)
        self.c0 = self.clock.ticks_ms()
        self.r0 = ticks_ms()

    def elapsed(self):
        """ms since boot by the board clock and by the socket calls' clock (the same on a chip;
        on the host the first is emulated, the second real: the bound holds in both)."""
        e = self.clock.ticks_ms()
        r = self.c0 + ticks_diff(ticks_ms(), self.r0)
        return e if e > r else r

    def left(self):
        return self.max_ms - self.elapsed()

    # ---- RTC memory ----------------------------------------------------------------------
    def restore(self):
        n = self.node
        st = None
        if self.cause == "deepsleep":
            try:
                st = json.loads(n.board.rtc_memory() or b"{}")
            except Exception as e:  # (garbage after a brown-out: flash numbers then)
                log("duty", "RTC memory unreadable: %s" % (e,))
        if not isinstance(st, dict) or st.get("node") != n.cfg["node_id"]:
            st = {"node": n.cfg["node_id"]}
        self.st = st
        if "seq" in st and not n.seqc.resume(st["seq"]):
            log("duty", "RTC sequence %r outside the flash reservation: flash's" % (st["seq"],))
        out = n.out
        out.sent = st.get("sent", 0)
        out.replayed = st.get("replayed", 0)
        out.queued = st.get("queued", 0)
        out.dropped_reported = st.get("dropreps", out.dropped_reported)
        n.link.connects = st.get("connects", 0)
        n.link.failures = st.get("failures", 0)
        al = n.alarms
        a = st.get("alarms")
        if isinstance(a, list) and len(a) == len(al.state):
            al.state = a
        al.zone_state = st.get("zone", al.zone_state)
        st["wakes"] = st.get("wakes", 0) + 1

    def keep(self, awake_ms):
        """Everything for the next wake into RTC memory; False when the board has none (the exact
        sequence number then goes to flash)."""
        n = self.node
        out = n.out
        st = self.st
        st["seq"] = n.seqc.next
        st["sent"] = out.sent
        st["replayed"] = out.replayed
        st["queued"] = out.queued
        st["dropreps"] = out.dropped_reported
        st["connects"] = n.link.connects
        st["failures"] = n.link.failures
        st["alarms"] = n.alarms.state
        st["zone"] = n.alarms.zone_state
        st["awake_ms"] = awake_ms  # this wake's, to the deep sleep call
        st["awake_total_ms"] = st.get("awake_total_ms", 0) + awake_ms
        try:
            n.board.rtc_memory(json.dumps(st).encode())
            return True
        except Exception as e:  # no RTC memory on this board, or too long
            log("duty", "RTC memory: %s" % (e,))
            return False

    # ---- the awake period ----------------------------------------------------------------
    def run(self):
        n = self.node
        link = n.link
        sup = n.sup
        safe = sup is not None and sup.safe_mode
        self.restore()
        if sup is not None:  # never fed: the awake period plus one last status and DISCONNECT
            sup.start_wdt(self.max_ms + 3 * int(self.tmo * 1000), {})
            log("duty", "watchdog %d ms, not fed while awake" % (self.max_ms + 3 * int(self.tmo * 1000)))
        link.on_up = self.on_up
        rep = n.reading(safe)  # the window first: the radio is off while it is sampled
        if rep is not None and "x" in rep:
            self.seq = rep["seq"]
        self.connect()
        if rep is not None:
            n.publish_reading(rep)  # QoS 1 and its PUBACK, or into the queue
            rep = None
        if link.up:
            self.serve()
        self.sleep()

    def connect(self):
        n = self.node
        link = n.link
        a0 = link.attempts
        while not link.up and link.attempts - a0 < _TRIES and self.left() > 0:
            if n.ntp is not None and link.net_up():
                n.ntp.service()
            link.timeout_s = max(0.1, min(self.tmo, self.left() / 1000))  # an attempt ends by the bound
            link.connect()  # (backoff between attempts; on_up below once it is up)
            if not link.up:
                self.clock.sleep_ms(max(0, min(100, self.left())))
        link.timeout_s = self.tmo
        st = self.st
        if link.up:
            st.pop("down", None)
            st.pop("err", None)
        else:
            st.setdefault("down", self.clock.time())  # the outage began at this wake
            st["err"] = link.last_error

    def on_up(self, link):
        """After CONNACK: the command subscription (the persistent session keeps it; this also
        covers a broker that lost its sessions), then what the last wakes could not say."""
        n = self.node
        out = n.out
        if not link.subscribe(n.topics.cmd, 1):
            return
        st = self.st
        if "down" in st:  # the wakes before found no broker: the outage and what is replayed now
            ev = n.counters()
            ev["outage_ms"] = (self.clock.time() - st["down"]) * 1000
            ev["last_error"] = st.get("err")
            out.event("link_up", ev)
        d = out.dropped_since()
        if d:
            out.event("dropped", {"count": d, "total": n.queue.dropped})
        sup = n.sup
        if sup is not None and sup.crash_trace and link.up:
            if out.event("crash", {"boot": sup.boots - 1, "trace": sup.crash_trace}):
                sup.crash_published()

    def serve(self):
        """Backlog, then commands (queued by the broker while the node slept: they arrive after
        CONNACK, before the SUBACK), then the status; the status's PUBACK comes after anything the
        broker sent before it, so an empty inbox then means nothing is pending."""
        n = self.node
        link = n.link
        rounds = 0
        while link.up and self.left() > 0 and rounds < _ROUNDS:
            while len(n.queue) and link.up and self.left() > 0:
                if not n.out.pump(self.max_ms, _REPLAY):
                    break
            link.service()
            n.cmds.process()
            if n.reboot_req:
                n.reboot()  # saves the exact sequence number; resets (no deep sleep)
            if n.capture_req is not None:
                self.capture()
            if not n.cmds.msgs:
                rounds += 1
                if self.say() and not n.cmds.msgs:
                    return

    def capture(self):
        """A capture asked for while awake: this wake's window (the sampler still holds it)."""
        n = self.node
        if self.seq is not None:
            n.serve_capture(self.seq)
        else:
            rid, kind = n.capture_req[0], n.capture_req[1]
            n.capture_req = None
            n.out.event("capture_failed", {"id": rid, "kind": kind, "error": "no sensor running"})

    def next_wake_ms(self):
        return max(_MIN_SLEEP_MS, self.interval_ms - self.clock.ticks_ms())

    def say(self):
        """The retained status "sleeping", with the next wake (UTC s) and the last wake's awake time."""
        n = self.node
        st = json.loads(n.status("sleeping"))
        st["next_wake"] = self.clock.time() + self.next_wake_ms() // 1000
        st["wakes"] = self.st["wakes"]
        st["interval_s"] = self.interval_ms // 1000
        if "awake_ms" in self.st:
            st["awake_ms"] = self.st["awake_ms"]  # the previous wake's, measured to its deep sleep
        self.said = n.out.status(json.dumps(st))
        return self.said

    def sleep(self):
        n = self.node
        link = n.link
        if link.up and n.cmds.msgs:  # taken (PUBACKed) but not handled when the bound came: answer them
            n.cmds.process()
            if n.reboot_req:
                n.reboot()
        if link.up and not self.said:
            self.say()
        q = n.queue
        if q.unsaved and not q.save_head():  # the replay position: the next wake re-sends nothing
            log("duty", "queue checkpoint: %s" % (q.error,))
        link.disconnect()  # clean: the broker keeps the session and drops the will
        ms = self.next_wake_ms()
        awake = self.clock.ticks_ms()
        if not self.keep(awake):
            n.seqc.save_exact()
        log("duty", "wake %d awake %d ms, seq next %d, queued %d; deep sleep %d ms (socket clock %d ms)" %
            (self.st["wakes"], awake, n.seqc.next, len(q), ms, ticks_diff(ticks_ms(), self.r0)))
        n.board.deepsleep(ms)
