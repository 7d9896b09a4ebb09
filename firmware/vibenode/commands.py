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
# between windows and never runs inside a publish.
#
# This module is the dispatcher: the envelope (payload, id, cmd, node, expires, retained refusal,
# once per id) and the ack. The inbox loads it for a batch of commands and drops it after; each
# command's handler lives in a small module of its family, loaded for that one command and dropped
# after, so handling a command takes this module plus one family in the heap, never all of them:
#   ping: here            get_config: vibenode/cmd_config.py     set, set_thresholds: cmd_settings.py
#   capture: cmd_capture.py                 identify, reboot, decommission: cmd_node.py
#   ota: cmd_ota.py       baseline.get / .relearn / .set: blcmds.py
# A family module has run(ctl, req) -> the ack's result (or None), raising Invalid on a bad field.
#
# The handlers talk to the node through a narrow control object `ctl` (vibenode/control.py):
#   ctl.node_id, ctl.cmd_topic, ctl.max_window
#   ctl.ping() -> dict                       ctl.config() -> the running config (dict)
#   ctl.save(section, upd, replace) -> None or an error text (persisted in config.json)
#   ctl.set_sampling(interval_s, window) -> {"interval_s", "window"} now in force
#   ctl.set_alarms(spec)                     ctl.identify(seconds)      ctl.reboot()
#   ctl.decommission() -> {"ha_removed": bool} (what the integrations did)
#   ctl.capture(id, kind, axis) -> the topic it will go to, or an error text (ValueError)
#   ctl.time() -> UTC seconds (below 1600000000: the clock was never set)
#   ctl.baseline() -> the baseline model or None    ctl.ota(id, version, trial_s, url) -> None or an error
#   ctl.ack(text): publish an ack's JSON text (the inbox sends what reply() returns)
import json

from micropython import const

from vibenode import drop
from vibenode.cmdcheck import Applied, printable, utf8_ok

MAX_PAYLOAD = const(4096)
MAX_DEPTH = const(6)
MAX_ID = const(64)
# every command (sorted: the error text lists them), and the ones applied once per id
CMDS = ("baseline.get", "baseline.relearn", "baseline.set", "capture", "decommission", "get_config", "identify",
        "ota", "ping", "reboot", "set", "set_thresholds")
STATEFUL = ("set", "set_thresholds", "capture", "identify", "reboot", "decommission", "baseline.relearn",
            "baseline.set", "ota")


class Invalid(ValueError):
    pass


def only(d, allowed):
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


def valid_id(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -(1 << 31) <= v < (1 << 31)
    return isinstance(v, str) and 1 <= len(v) <= MAX_ID and printable(v)


def _family(cmd):
    """The module with cmd's handler (imported here, dropped by the caller after the command)."""
    if cmd == "get_config":
        from vibenode import cmd_config as m
    elif cmd == "set" or cmd == "set_thresholds":
        from vibenode import cmd_settings as m
    elif cmd == "capture":
        from vibenode import cmd_capture as m
    elif cmd == "ota":
        from vibenode import cmd_ota as m
    elif cmd.startswith("baseline."):
        from vibenode import blcmds as m
    else:  # identify, reboot, decommission
        from vibenode import cmd_node as m
    return m


class Commands:
    def __init__(self, ctl, retained=None):
        self.ctl = ctl
        self.handled = 0
        self.errors = 0
        self.applied = Applied()
        # crc32 of the retained messages answered this boot (a list the inbox keeps across batches)
        self.retained = [] if retained is None else retained

    # ---- one message -------------------------------------------------------------------------
    def reply(self, topic, msg, head=None, size=None, retain=False):
        """The ack's JSON text (what the node publishes) for one message, or None when it is not
        for this node. Never invalid UTF-8 (nothing the sender wrote is echoed unchecked)."""
        ack = self._handle(topic, msg, head, size, retain)
        if ack is None:
            return None
        try:
            t = json.dumps(ack)
        except MemoryError:  # (a large result in a full heap: it is lost, the command says so)
            rid, cmd = ack["id"], ack.get("cmd")
            ack = None
            t = json.dumps(self._err(rid, cmd, "internal error: MemoryError"))
        ack = None  # (the text alone in the heap from here)
        if not utf8_ok(memoryview(t)):  # (the text's bytes, no copy)
            t = json.dumps(self._err(None, None, "internal error: ack text not UTF-8"))
        return t

    def handle(self, topic, msg, head=None, size=None, retain=False):
        """The ack (dict) for one message, or None: reply() decoded."""
        t = self.reply(topic, msg, head, size, retain)
        return None if t is None else json.loads(t)

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
                return self._rare("retained", msg if msg is not None else head)
            req, ack = self._parse(msg, head, size)
            return ack if req is None else self._run(req)
        except Exception as e:  # a bug here must not take the node down: say so and carry on
            return self._err(None, None, "internal error: %s" % type(e).__name__)

    # (small functions: this module is loaded for each batch of commands into whatever free
    # blocks the heap has, and each function's bytecode is one block)
    def _parse(self, msg, head, size):
        """(the request, None) or (None, the error ack)."""
        if msg is None or len(msg) > MAX_PAYLOAD:
            return None, self._rare("too_large", msg, head, size)
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
        cmd = req.get("cmd")
        if not isinstance(cmd, str) or cmd not in CMDS:
            cmd = None
        if not valid_id(rid):
            return self._err(None, cmd, "id: required, 1 to %d printable characters or a 32-bit integer" % MAX_ID)
        target = req.get("node")
        if target is not None and target != self.ctl.node_id:
            self.handled -= 1
            return None  # another node's command: not ours to answer
        if cmd is None:
            return self._err(rid, None, "cmd: must be one of %s" % ", ".join(CMDS))
        once = cmd in STATEFUL
        try:
            exp = req.pop("expires", None)
            if exp is not None:
                self._rare("expiry", exp)
            if once and self.applied.seen(rid):
                return {"id": rid, "cmd": cmd, "ok": True, "duplicate": True}
            result = self._call(cmd, req)
        except Invalid as e:
            return self._err(rid, cmd, str(e))
        if once:
            self.applied.add(rid)
        ack = {"id": rid, "cmd": cmd, "ok": True}
        if result is not None:
            ack["result"] = result
        return ack

    def _call(self, cmd, req):
        if cmd == "ping":  # (the one command without a module: a flood of pings loads nothing)
            only(req, ("id", "cmd", "node"))
            return self.ctl.ping()
        m = _family(cmd)
        try:
            return m.run(self.ctl, req)
        finally:
            m = None
            unload()

    def _rare(self, fn, *a):
        """vibenode/cmd_envelope.py's fn(self, *a): a retained message, an expiry, a payload too
        large (rare: that code is loaded for the one message)."""
        from vibenode import cmd_envelope
        try:
            return getattr(cmd_envelope, fn)(self, *a)
        finally:
            cmd_envelope = None
            drop("vibenode.cmd_envelope")

    def _err(self, rid, cmd, msg):
        self.errors += 1
        ack = {"id": rid, "ok": False, "error": msg}
        if cmd is not None:
            ack["cmd"] = cmd
        return ack


# the handler modules, and what they load, that a command leaves in the heap: dropped after it
AFTER = ("vibenode.cmd_envelope", "vibenode.cmd_config", "vibenode.cmd_settings", "vibenode.cmd_capture",
         "vibenode.cmd_node", "vibenode.cmd_ota", "vibenode.blcmds", "vibenode.cmd_fields", "vibenode.cmd_ctl",
         "vibenode.config", "vibenode.lastgood", "vibenode.cfgspec", "baseline.cold")


def unload():
    for name in AFTER:
        drop(name)
