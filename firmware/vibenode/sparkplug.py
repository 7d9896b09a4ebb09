# Sparkplug B edge node beside the plain JSON topics (config `sparkplug: {"enabled": true,
# "group": "plant1"}`): a transport that only observes the node's readings.
#
#   spBv1.0/<group>/NBIRTH/<node_id>   every metric with name, alias, datatype; bdSeq; seq 0
#   spBv1.0/<group>/NDATA/<node_id>    each reading's metrics by alias; seq 1..255, 0, 1, ...
#   spBv1.0/<group>/NDEATH/<node_id>   the MQTT will (bdSeq of the session it ends)
#   spBv1.0/<group>/NCMD/<node_id>     Node Control/Rebirth, Node Control/Reboot, and
#                                      Node Control/Command (a JSON command as on `cmd`)
#
# One MQTT connection carries both: its will is the NDEATH (not retained, QoS 1), so the plain
# `status` topic gets no broker-published `offline` while Sparkplug is on (docs/integrations.md).
# bdSeq counts connects (0..255, from 0 at boot); the will for the next connect is written when
# a session comes up. Payloads are encoded by link/spb.py into the outbox's encoder buffer
# (free once the JSON reading has gone out), NBIRTH/NDATA at QoS 0 as the specification asks.
from micropython import const

from link import spb
from vibenode import drop

_ALIAS0 = const(10)  # the first reading metric's alias (1..3: node control)
AXES = ("x", "y", "z")
# per axis: (metric name, telemetry key)
_AXIS = (("Velocity RMS mm/s", "vel"), ("Acceleration RMS g", "rms"), ("Acceleration peak g", "pk"),
         ("Dominant frequency Hz", "f0"), ("ISO zone", "iso"))
# whole reading: (metric name, telemetry key, datatype)
_TOP = (("Temperature C", "temp_c", spb.DOUBLE), ("Reading seq", "seq", spb.UINT64))
_CTL = ("Node Control/Rebirth", "Node Control/Reboot", "Node Control/Command")


class EdgeNode:
    def __init__(self, cfg, link, buf, clock, log):
        self.link = link
        self.clock = clock
        self.log = log
        base = "spBv1.0/%s/" % cfg["sparkplug"]["group"]
        nid = cfg["node_id"]
        self.t_birth = base + "NBIRTH/" + nid
        self.t_data = base + "NDATA/" + nid
        self.t_death = base + "NDEATH/" + nid
        self.t_cmd = base + "NCMD/" + nid
        self.t_cmd_b = self.t_cmd.encode()
        self.w = spb.Writer(buf)
        self.bd = 0  # bdSeq of the will installed for the next connect
        self.cur = None  # bdSeq of the session that is up
        self.seq = 0
        self.vals = [None] * (len(AXES) * len(_AXIS) + len(_TOP))  # last values (NBIRTH), by alias - 10
        self.cmds = []  # NCMD payloads waiting (the link callback only queues; at most 4)
        self.births = 0
        self.link.will_topic = self.t_death
        self.link.will_retain = False
        self._will()

    def _ts(self):
        return int(self.clock.time()) * 1000

    def _will(self):
        w = self.w
        w.begin(self._ts())
        w.metric("bdSeq", None, spb.UINT64, self.bd, False)
        self.link.will_msg = bytes(w.payload())

    def _next(self):
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def _keep(self, rep):
        """The reading's metric values kept for the next NBIRTH (floats only: the reading's dicts
        are not held); returns the bit mask of the metrics it has."""
        vals = self.vals
        mask = 0
        i = 0
        for ax in AXES:
            f = rep.get(ax)
            for name, key in _AXIS:
                v = None if f is None else f.get(key)
                if v is not None:
                    vals[i] = v
                    mask |= 1 << i
                i += 1
        for name, key, dt in _TOP:
            v = rep.get(key)
            if v is not None:
                vals[i] = v
                mask |= 1 << i
            i += 1
        return mask

    def _values(self, mask):
        """The metrics in mask, by alias (NDATA), or every metric named (mask None: NBIRTH)."""
        w = self.w
        vals = self.vals
        named = mask is None
        i = 0
        for ax in AXES:
            for name, key in _AXIS:
                if named or mask >> i & 1:
                    w.metric(ax + "/" + name if named else None, _ALIAS0 + i,
                             spb.STRING if key == "iso" else spb.DOUBLE, vals[i])
                i += 1
        for name, key, dt in _TOP:
            if named or mask >> i & 1:
                w.metric(name if named else None, _ALIAS0 + i, dt, vals[i])
            i += 1

    def on_up(self):
        """A session is up (with the will of bdSeq self.bd): NCMD subscription (QoS 1, before
        the birth), NBIRTH (the session's first message), and the next connect's will."""
        self.cur = self.bd
        self.bd = (self.bd + 1) & 0xFF
        if self.link.subscribe(self.t_cmd, 1) and self.birth():
            self._will()

    def birth(self):
        """NBIRTH: every metric (last values or null), their aliases and datatypes; seq 0."""
        if self.cur is None:
            return False
        w = self.w
        self.seq = 0
        w.begin(self._ts(), 0)
        w.metric("bdSeq", None, spb.UINT64, self.cur)
        for i in range(3):
            w.metric(_CTL[i], i + 1, spb.STRING if i == 2 else spb.BOOLEAN, "" if i == 2 else False)
        self._values(None)
        self.births += 1
        return self.link.publish(self.t_birth, w.payload(), qos=0)

    def reading(self, rep):
        """NDATA of a live reading (replayed ones stay on the JSON topics)."""
        mask = self._keep(rep)
        if not self.link.up or self.cur is None:
            return False
        w = self.w
        w.begin(self._ts(), self._next())
        self._values(mask)
        return self.link.publish(self.t_data, w.payload(), qos=0)

    def death(self):
        """Before a deliberate disconnect (the broker sends no will then)."""
        if self.link.up and self.cur is not None:
            w = self.w
            w.begin(self._ts())
            w.metric("bdSeq", None, spb.UINT64, self.cur, False)
            self.link.publish(self.t_death, w.payload(), qos=1)

    def on_message(self, topic, msg):
        if topic != self.t_cmd_b:
            return False
        if msg is not None and len(self.cmds) < 4:
            self.cmds.append(msg)
        return True

    def service(self, node):
        """Handle queued NCMDs: Rebirth, Reboot, Command (into the node's command inbox)."""
        from link.spbread import decode
        while self.cmds:
            msg = self.cmds.pop(0)
            try:
                ms = decode(msg)
            except ValueError as e:
                self.log("sparkplug", "NCMD refused: %s" % e)
                continue
            for name, alias, dt, v in ms:
                if name is None and alias is not None and 1 <= alias <= 3:
                    name = _CTL[alias - 1]
                if name == _CTL[0] and v is True:
                    self.log("sparkplug", "rebirth requested")
                    self.birth()
                elif name == _CTL[1] and v is True:
                    node.reboot_req = True
                elif name == _CTL[2] and isinstance(v, str):
                    node.cmds.on_message(node.topics.cmd, v.encode(), None, len(v), False)
                else:
                    self.log("sparkplug", "NCMD metric %r ignored" % (name or alias))
        decode = None
        drop("link.spbread")
