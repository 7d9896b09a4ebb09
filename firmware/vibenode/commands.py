# Commands on <prefix>/<site>/<node>/cmd, answered on .../cmd/ack (contract: docs/mqtt.md,
# schemas/cmd.schema.json and schemas/cmd_ack.schema.json).
#
#   {"id": "r1", "cmd": "set", "interval_s": 10, "window": 4096}
#   {"id": "r2", "cmd": "set_thresholds", "hysteresis": 0.1,
#                "rules": [{"metric": "rms", "axis": "any", "warn": 0.7, "alarm": 1.4}]}
#   {"id": "r3", "cmd": "capture", "kind": "waveform", "axis": "x"}      (or "spectrum", "all")
#   {"id": "r4", "cmd": "identify", "seconds": 10}
#   {"id": "r5", "cmd": "reboot"}            {"id": "r6", "cmd": "get_config"}
#   {"id": "r7", "cmd": "ping"}
# Optional "node": the target node id; a command naming another node is ignored (no ack).
# Optional "expires": unix time (s) after which the command must not run (refused when the
# node's clock is not set, since it cannot tell).
#
# Never executed (vibenode/cmdcheck.py): a payload that is not well-formed UTF-8; a message the
# broker delivers as retained (a retained command would run again on every reconnect: it is
# answered once with an error); a state-changing command whose id was already applied (answered
# ok with "duplicate": true, applied once, remembered across reboots).
#
# Every field is checked (type, range, size, unknown fields) before anything changes; a bad
# command gets {"id", "ok": false, "error": "<field>: <problem>"} and changes nothing. Accepted
# settings are applied at once and persisted with config.save (validated, temp file + rename,
# last good copy kept). Messages arrive through a bounded inbox (the link's callback only
# queues them), so a flood on `cmd` costs the node a bounded slice of time between windows and
# never runs inside a publish.
import json

from vibenode.cmdcheck import Applied, printable, utf8_ok

MAX_PAYLOAD = 4096
MAX_DEPTH = 6
MAX_ID = 64
INBOX = 16
STATEFUL = ("set", "set_thresholds", "capture", "identify", "reboot")  # applied once per id

# telemetry feature names a threshold can watch (per axis, or top-level like temp_c)
METRICS = ("rms", "pk", "p2p", "cf", "ku", "sk", "mean", "vel", "hf", "f0", "temp_c")
AXES = ("x", "y", "z", "any")


class Invalid(ValueError):
    pass


def _num(v, field, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Invalid("%s: must be a number" % field)
    if not (lo <= v <= hi):  # also false for NaN
        raise Invalid("%s: must be from %s to %s" % (field, lo, hi))
    return v


def _int(v, field, lo, hi):
    if isinstance(v, bool) or not isinstance(v, int):
        raise Invalid("%s: must be an integer" % field)
    if not (lo <= v <= hi):
        raise Invalid("%s: must be from %d to %d" % (field, lo, hi))
    return v


def _choice(v, field, options):
    if not isinstance(v, str) or v not in options:
        raise Invalid("%s: must be one of %s" % (field, ", ".join(options)))
    return v


def _only(d, allowed):
    for k in d:
        if k not in allowed:
            ks = k if printable(k) and len(k) <= 32 else "?"
            raise Invalid("unknown field %r" % ks)


def depth_ok(b, limit=MAX_DEPTH):
    """True when JSON text b nests at most `limit` levels (checked before parsing, so deep
    nesting cannot exhaust the parser's recursion or the heap)."""
    d = 0
    instr = False
    esc = False
    for c in b:
        if instr:
            if esc:
                esc = False
            elif c == 0x5C:
                esc = True
            elif c == 0x22:
                instr = False
        elif c == 0x22:
            instr = True
        elif c == 0x5B or c == 0x7B:
            d += 1
            if d > limit:
                return False
        elif c == 0x5D or c == 0x7D:
            d -= 1
    return True


def id_hint(head):
    """The request id from the first bytes of a payload too large to parse, if it is there."""
    try:
        s = bytes(head).decode()
    except Exception:
        return None
    i = s.find('"id"')
    if i < 0:
        return None
    j = s.find('"', s.find(":", i) + 1)
    k = s.find('"', j + 1)
    if j < 0 or k < 0:
        return None
    v = s[j + 1:k]
    return v if _valid_id(v) else None


def _valid_id(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -(1 << 31) <= v < (1 << 31)
    return isinstance(v, str) and 1 <= len(v) <= MAX_ID and printable(v)


class Commands:
    def __init__(self, node):
        self.node = node
        self.inbox = []
        self.received = 0
        self.dropped = 0  # messages that arrived while the inbox was full
        self.handled = 0
        self.errors = 0
        self.applied = Applied()
        self._retained = []  # crc32 of retained messages already answered (this boot)

    # ---- from the link (may run inside a publish: only queue) ------------------------------
    def on_message(self, topic, msg, head, size, retain=False):
        self.received += 1
        if len(self.inbox) >= INBOX:
            self.dropped += 1
            return
        self.inbox.append((topic, msg, head, size, retain))

    def pending(self):
        return len(self.inbox)

    def process(self, limit=INBOX):
        """Handle up to `limit` queued messages; returns how many."""
        n = 0
        while self.inbox and n < limit:
            topic, msg, head, size, retain = self.inbox.pop(0)
            n += 1
            ack = self.handle(topic, msg, head, size, retain)
            if ack is not None:
                if not utf8_ok(json.dumps(ack).encode()):  # never publish an invalid ack
                    ack = self._err(None, None, "internal error: ack text not UTF-8")
                self.node.send_ack(ack)
        return n

    # ---- one message -------------------------------------------------------------------------
    def handle(self, topic, msg, head=None, size=None, retain=False):
        """The ack (dict) for one message, or None when it is not for this node."""
        node = self.node
        if isinstance(topic, (bytes, bytearray)):
            try:
                topic = bytes(topic).decode()
            except Exception:
                return None
        if topic != node.topics.cmd:
            return None
        self.handled += 1
        if isinstance(msg, str):
            msg = msg.encode()
        try:
            if retain:
                return self._refuse_retained(msg if msg is not None else head)
            if msg is None or len(msg) > MAX_PAYLOAD:
                n = size if msg is None else len(msg)
                return self._err(id_hint(head if msg is None else msg[:160]), None,
                                 "payload too large: %d bytes, at most %d" % (n, MAX_PAYLOAD))
            if not utf8_ok(msg):
                return self._err(None, None, "payload is not UTF-8 text")
            if not depth_ok(msg):
                return self._err(None, None, "payload nested deeper than %d levels" % MAX_DEPTH)
            try:
                req = json.loads(msg)
            except Exception:
                return self._err(None, None, "payload is not JSON (UTF-8 text, one object)")
            if not isinstance(req, dict):
                return self._err(None, None, "payload must be a JSON object")
            rid = req.get("id")
            if not _valid_id(rid):
                c = req.get("cmd")
                return self._err(None, c if isinstance(c, str) and c in _HANDLERS else None,
                                 "id: required, 1 to %d printable characters or a 32-bit integer" % MAX_ID)
            target = req.get("node")
            if target is not None and target != node.cfg["node_id"]:
                self.handled -= 1
                return None  # another node's command: not ours to answer
            cmd = req.get("cmd")
            if not isinstance(cmd, str) or cmd not in _HANDLERS:
                return self._err(rid, None, "cmd: must be one of %s" % ", ".join(sorted(_HANDLERS)))
            once = cmd in STATEFUL
            try:
                self._check_expiry(req.pop("expires", None))
                if once and self.applied.seen(rid):
                    return {"id": rid, "cmd": cmd, "ok": True, "duplicate": True}
                result = _HANDLERS[cmd](self, req)
            except Invalid as e:
                return self._err(rid, cmd, str(e))
            if once:
                self.applied.add(rid)
            ack = {"id": rid, "cmd": cmd, "ok": True}
            if result is not None:
                ack["result"] = result
            return ack
        except Exception as e:  # a bug here must not take the node down: say so and carry on
            return self._err(None, None, "internal error: %s" % type(e).__name__)

    def _refuse_retained(self, data):
        """A retained command is never executed: the broker would hand it over again on every
        reconnect (a retained reboot reboots for ever). Answered once per boot."""
        import binascii
        key = binascii.crc32(bytes(data or b""))
        if key in self._retained:
            return None
        self._retained.append(key)
        if len(self._retained) > 8:
            self._retained.pop(0)
        rid = None
        if data is not None and len(data) <= MAX_PAYLOAD and utf8_ok(data):
            try:
                rid = json.loads(data).get("id")
            except Exception:
                pass
        if not _valid_id(rid):
            rid = id_hint(data) if data is not None else None
        return self._err(rid, None, "retained: commands must be published without the retain flag "
                                    "(not executed; clear it with an empty retained message)")

    def _check_expiry(self, exp):
        if exp is None:
            return
        if isinstance(exp, bool) or not isinstance(exp, int) or exp < 0:
            raise Invalid("expires: must be a unix time in whole seconds")
        now = self.node.clock.time()
        if now < 1600000000:
            raise Invalid("expires: the node's clock is not set, so it cannot tell whether the command expired")
        if now > exp:
            raise Invalid("expires: the command expired %d s ago" % (now - exp))

    def _err(self, rid, cmd, msg):
        self.errors += 1
        ack = {"id": rid, "ok": False, "error": msg}
        if cmd is not None:
            ack["cmd"] = cmd
        return ack

    # ---- the commands --------------------------------------------------------------------
    def c_ping(self, req):
        _only(req, ("id", "cmd", "node"))
        n = self.node
        r = {"uptime_s": n.clock.now_us() // 1000000, "seq": n.seqc.last(), "queued": len(n.queue)}
        sup = getattr(n, "sup", None)
        if sup is not None:
            r["wdt_feeds"] = sup.feeds
            r["wdt_refused"] = sup.refused  # feeds withheld because a subsystem stalled
        return r

    def c_set(self, req):
        _only(req, ("id", "cmd", "node", "interval_s", "window"))
        iv = req.get("interval_s")
        win = req.get("window")
        if iv is None and win is None:
            raise Invalid("set: give interval_s and/or window")
        if iv is not None:
            _num(iv, "interval_s", 0.1, 86400)
        if win is not None:
            _int(win, "window", 64, 4096)
            if win & (win - 1):
                raise Invalid("window: must be a power of two")
            if win > self.node.max_window:
                raise Invalid("window: at most %d on this node (memory)" % self.node.max_window)
        upd = {}
        if iv is not None:
            upd["interval_s"] = iv
        if win is not None:
            upd["window"] = win
        err = self.node.persist("sampling", upd)
        if err:
            raise Invalid("not saved: %s" % err)
        self.node.apply_sampling(iv, win)
        return {"sampling": {"interval_s": self.node.interval_ms / 1000, "window": self.node.n}}

    def c_set_thresholds(self, req):
        _only(req, ("id", "cmd", "node", "rules", "hysteresis"))
        rules = req.get("rules")
        hy = req.get("hysteresis", 0.1)
        _num(hy, "hysteresis", 0, 0.5)
        if not isinstance(rules, list) or len(rules) > 8:
            raise Invalid("rules: a list of at most 8 rules")
        out = []
        for i, r in enumerate(rules):
            f = "rules[%d]" % i
            if not isinstance(r, dict):
                raise Invalid("%s: must be an object" % f)
            for k in r:
                if k not in ("metric", "axis", "warn", "alarm"):
                    raise Invalid("%s: unknown field %r" % (f, k if isinstance(k, str) and len(k) < 32 else "?"))
            m = _choice(r.get("metric"), f + ".metric", METRICS)
            ax = _choice(r.get("axis", "any"), f + ".axis", AXES)
            w = _num(r.get("warn"), f + ".warn", 0, 1e6)
            a = _num(r.get("alarm"), f + ".alarm", 0, 1e6)
            if a < w:
                raise Invalid("%s: alarm must not be below warn" % f)
            out.append({"metric": m, "axis": ax, "warn": w, "alarm": a})
        spec = {"hysteresis": hy, "rules": out}
        err = self.node.persist("alarms", spec, replace=True)
        if err:
            raise Invalid("not saved: %s" % err)
        self.node.alarms.configure(spec)
        return {"rules": len(out)}

    def c_capture(self, req):
        _only(req, ("id", "cmd", "node", "kind", "axis"))
        kind = _choice(req.get("kind"), "kind", ("waveform", "spectrum"))
        ax = _choice(req.get("axis", "all"), "axis", ("x", "y", "z", "all"))
        n = self.node
        if n.sampler is None:
            raise Invalid("capture: no sensor running")
        if kind == "spectrum" and not n.has_spectrum():
            raise Invalid("capture: spectrum unavailable (the feature engine does not export one)")
        if n.capture_req is not None:
            raise Invalid("capture: one already pending")
        n.capture_req = (req["id"], kind, ax)
        return {"kind": kind, "axis": ax, "topic": n.topics.waveform if kind == "waveform" else n.topics.spectrum}

    def c_identify(self, req):
        _only(req, ("id", "cmd", "node", "seconds"))
        s = _int(req.get("seconds", 10), "seconds", 1, 600)
        self.node.identify(s)
        return {"seconds": s}

    def c_reboot(self, req):
        _only(req, ("id", "cmd", "node"))
        self.node.reboot_req = True
        return None

    def c_get_config(self, req):
        _only(req, ("id", "cmd", "node"))
        return redact(self.node.cfg)


_SECRET = ("password", "psk", "key", "client_key", "portal_psk", "user")


def redact(obj):
    if isinstance(obj, dict):
        out = {}
        for k in obj:
            v = obj[k]
            out[k] = "***" if (k in _SECRET and v is not None) else redact(v)
        return out
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


_HANDLERS = {
    "ping": Commands.c_ping,
    "set": Commands.c_set,
    "set_thresholds": Commands.c_set_thresholds,
    "capture": Commands.c_capture,
    "identify": Commands.c_identify,
    "reboot": Commands.c_reboot,
    "get_config": Commands.c_get_config,
}
