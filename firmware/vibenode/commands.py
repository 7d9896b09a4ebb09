# Commands on <prefix>/<site>/<node>/cmd, answered on .../cmd/ack (contract: docs/mqtt.md,
# schemas/cmd.schema.json and schemas/cmd_ack.schema.json).
#
#   {"id": "r1", "cmd": "set", "interval_s": 10, "window": 4096}
#   {"id": "r2", "cmd": "set_thresholds", "hysteresis": 0.1,
#                "rules": [{"metric": "rms", "axis": "any", "warn": 0.7, "alarm": 1.4}]}
#   {"id": "r3", "cmd": "capture", "kind": "waveform", "axis": "x"}      (or "spectrum", "envelope", "all")
#   {"id": "r4", "cmd": "identify", "seconds": 10}
#   {"id": "r5", "cmd": "reboot"}            {"id": "r6", "cmd": "get_config"}
#   {"id": "r7", "cmd": "ping"}            {"id": "r8", "cmd": "decommission"}  (Home Assistant: removed)
#   {"id": "r8", "cmd": "baseline.get"}      {"id": "r9", "cmd": "baseline.relearn"}
#   {"id": "r10", "cmd": "baseline.set", "features": {"vel.x": [1.3, 1.07], ...}}  (vibenode/blcmds.py)
#   {"id": "r11", "cmd": "ota", "version": "0.2.0", "trial_s": 600}   (application update in chunks
#        over MQTT, or from "url": "http://host/dist/host-0.2.0/": lib/ota/session.py; progress on
#        `event`; the new app must deliver a reading within trial_s of a boot or it is rolled back)
# Optional "node": the target node id; a command naming another node is ignored (no ack).
# Optional "expires": unix time (s) after which the command must not run (refused when the
# node's clock is not set, since it cannot tell).
#
# Never executed (vibenode/cmdcheck.py): a payload that is not well-formed UTF-8; a message the
# broker delivers as retained (a retained command would run again on every reconnect: it is
# answered once per boot with an error); a state-changing command whose id was already applied
# (answered ok with "duplicate": true, applied once, remembered on flash across reboots).
#
# Every field is checked (type, range, size, unknown fields) before anything changes; a bad
# command gets {"id", "ok": false, "error": "<field>: <problem>"} and changes nothing. Accepted
# settings are applied at once and persisted (config.save: validated, atomic, last good copy
# kept). Messages arrive through the node's bounded inbox (vibenode/node.py: the link's
# callback only queues them), so a flood on `cmd` costs the node a bounded slice of time
# between windows and never runs inside a publish. This module is loaded to handle what the
# inbox holds and dropped after (its code would otherwise sit in the heap).
#
# The handler talks to the node through a narrow control object `ctl`:
#   ctl.node_id, ctl.cmd_topic, ctl.max_window
#   ctl.ping() -> dict                       ctl.config() -> the running config (dict)
#   ctl.save(section, upd, replace) -> None or an error text (persisted in config.json)
#   ctl.set_sampling(interval_s, window) -> {"interval_s", "window"} now in force
#   ctl.set_alarms(spec)                     ctl.identify(seconds)      ctl.reboot()
#   ctl.decommission() -> {"ha_removed": bool} (what the integrations did)
#   ctl.capture(id, kind, axis) -> the topic it will go to, or an error text (ValueError)
#   ctl.time() -> UTC seconds (below 1600000000: the clock was never set)
import json

from micropython import const

from vibenode import drop
from vibenode.cmdcheck import Applied, printable, utf8_ok

MAX_PAYLOAD = const(4096)
MAX_DEPTH = const(6)
MAX_ID = const(64)
STATEFUL = ("set", "set_thresholds", "capture", "identify", "reboot", "decommission", "baseline.relearn",
            "baseline.set", "ota")  # applied once per id



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
    def __init__(self, ctl, retained=None):
        self.ctl = ctl
        self.handled = 0
        self.errors = 0
        self.applied = Applied()
        # crc32 of the retained messages answered this boot (a list the inbox keeps across batches)
        self.retained = [] if retained is None else retained

    # ---- one message -------------------------------------------------------------------------
    def handle(self, topic, msg, head=None, size=None, retain=False):
        """The ack (dict) for one message, or None when it is not for this node. An ack is
        never invalid UTF-8 (nothing the sender wrote is echoed unchecked)."""
        ack = self._handle(topic, msg, head, size, retain)
        if ack is not None and not utf8_ok(json.dumps(ack).encode()):
            ack = self._err(None, None, "internal error: ack text not UTF-8")
        return ack

    def _handle(self, topic, msg, head, size, retain):
        ctl = self.ctl
        if isinstance(topic, (bytes, bytearray)):
            try:
                topic = bytes(topic).decode()
            except Exception:
                return None
        if topic != ctl.cmd_topic:
            return None
        self.handled += 1
        if isinstance(msg, str):
            msg = msg.encode()
        try:
            if retain:
                return self._refuse_retained(msg if msg is not None else head)
            req, ack = self._parse(msg, head, size)
            return ack if req is None else self._run(req)
        except Exception as e:  # a bug here must not take the node down: say so and carry on
            return self._err(None, None, "internal error: %s" % type(e).__name__)

    # (small functions: this module is loaded for each batch of commands into whatever free
    # blocks the heap has, and each function's bytecode is one block)
    def _parse(self, msg, head, size):
        """(the request, None) or (None, the error ack)."""
        if msg is None or len(msg) > MAX_PAYLOAD:
            n = size if msg is None else len(msg)
            return None, self._err(id_hint(head if msg is None else msg[:160]), None,
                                   "payload too large: %d bytes, at most %d" % (n, MAX_PAYLOAD))
        if not utf8_ok(msg):
            return None, self._err(None, None, "payload is not UTF-8 text")
        if not depth_ok(msg):
            return None, self._err(None, None, "payload nested deeper than %d levels" % MAX_DEPTH)
        try:
            req = json.loads(msg)
        except Exception:
            return None, self._err(None, None, "payload is not JSON (UTF-8 text, one object)")
        if not isinstance(req, dict):
            return None, self._err(None, None, "payload must be a JSON object")
        return req, None

    def _run(self, req):
        rid = req.get("id")
        if not _valid_id(rid):
            c = req.get("cmd")
            return self._err(None, c if isinstance(c, str) and c in _HANDLERS else None,
                             "id: required, 1 to %d printable characters or a 32-bit integer" % MAX_ID)
        target = req.get("node")
        if target is not None and target != self.ctl.node_id:
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

    def _refuse_retained(self, data):
        """A retained command is never executed: the broker would hand it over again on every
        reconnect (a retained reboot reboots for ever). Answered once per boot."""
        import binascii
        key = binascii.crc32(bytes(data or b""))
        if key in self.retained:
            return None
        self.retained.append(key)
        if len(self.retained) > 8:
            self.retained.pop(0)
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
        now = self.ctl.time()
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
        return self.ctl.ping()

    def c_set(self, req):
        from vibenode.config import INTERVAL_S, WINDOW
        _only(req, ("id", "cmd", "node", "interval_s", "window"))
        iv = req.get("interval_s")
        win = req.get("window")
        if iv is None and win is None:
            raise Invalid("set: give interval_s and/or window")
        if iv is not None:
            _num(iv, "interval_s", INTERVAL_S[0], INTERVAL_S[1])
        if win is not None:
            _int(win, "window", WINDOW[0], WINDOW[1])
            if win & (win - 1):
                raise Invalid("window: must be a power of two")
            if win > self.ctl.max_window:
                raise Invalid("window: at most %d on this node (memory)" % self.ctl.max_window)
        upd = {}
        if iv is not None:
            upd["interval_s"] = iv
        if win is not None:
            upd["window"] = win
        err = self.ctl.save("sampling", upd, False)
        if err:
            raise Invalid("not saved: %s" % err)
        return {"sampling": self.ctl.set_sampling(iv, win)}

    def c_set_thresholds(self, req):
        _only(req, ("id", "cmd", "node", "rules", "hysteresis"))
        rules = req.get("rules")
        if rules is None:
            raise Invalid("rules: required")
        spec = {"hysteresis": req.get("hysteresis", 0.1), "rules": rules}
        from vibenode import cfgspec  # the alarms section's rules: config's table, the one place
        w = []
        try:
            cfgspec.obj(spec, cfgspec.SECTIONS["alarms"], "alarms", w)
        except ValueError as e:
            raise Invalid(str(e))
        finally:
            cfgspec = None
            drop("vibenode.cfgspec")
        if w:
            raise Invalid(w[0].replace("unknown key, ignored", "unknown field"))
        hy = spec["hysteresis"]
        out = [{"metric": r["metric"], "axis": r.get("axis", "any"), "warn": r["warn"], "alarm": r["alarm"]}
               for r in rules]
        spec = {"hysteresis": hy, "rules": out}
        err = self.ctl.save("alarms", spec, True)
        if err:
            raise Invalid("not saved: %s" % err)
        self.ctl.set_alarms(spec)
        return {"rules": len(out)}

    def c_capture(self, req):
        _only(req, ("id", "cmd", "node", "kind", "axis"))
        kind = _choice(req.get("kind"), "kind", ("waveform", "spectrum", "envelope"))
        ax = _choice(req.get("axis", "all"), "axis", ("x", "y", "z", "all"))
        r = self.ctl.capture(req["id"], kind, ax)
        if isinstance(r, ValueError):
            raise Invalid("capture: %s" % r)
        return {"kind": kind, "axis": ax, "topic": r}

    def c_identify(self, req):
        _only(req, ("id", "cmd", "node", "seconds"))
        s = _int(req.get("seconds", 10), "seconds", 1, 600)
        self.ctl.identify(s)
        return {"seconds": s}

    def c_reboot(self, req):
        _only(req, ("id", "cmd", "node"))
        self.ctl.reboot()
        return None

    def c_decommission(self, req):
        _only(req, ("id", "cmd", "node"))
        return self.ctl.decommission()

    def c_baseline(self, req):
        from vibenode import blcmds, drop
        try:
            return blcmds.run(self.ctl, req, Invalid, _only)
        finally:
            blcmds = None
            drop("vibenode.blcmds")
            drop("baseline.cold")

    def c_ota(self, req):
        _only(req, ("id", "cmd", "node", "version", "url", "trial_s"))
        v = req.get("version")
        if not isinstance(v, str) or not 1 <= len(v) <= 32 or not printable(v) or "/" in v or " " in v:
            raise Invalid("version: 1 to 32 printable characters, no '/' or space")
        url = req.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith("http://") or len(url) > 200
                                or not printable(url) or " " in url):
            raise Invalid("url: an http:// address of at most 200 characters (https is not in this build)")
        t = _int(req.get("trial_s", 600), "trial_s", 5, 86400)
        err = self.ctl.ota(req["id"], v, t, url)
        if err:
            raise Invalid("ota: %s" % err)
        return {"version": v, "source": "http" if url else "mqtt"}

    def c_get_config(self, req):
        _only(req, ("id", "cmd", "node"))
        return redact(self.ctl.config())


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
    "decommission": Commands.c_decommission,
    "baseline.get": Commands.c_baseline,
    "baseline.relearn": Commands.c_baseline,
    "baseline.set": Commands.c_baseline,
    "ota": Commands.c_ota,
}
