# The integrations beside the plain JSON topics, made only when configured (docs/integrations.md):
#
#   ha: {"enabled": true, "prefix": "homeassistant"}   Home Assistant device discovery: one
#       retained payload on <prefix>/device/<node_id>/config, built by vibenode/hadisc.py (loaded
#       to publish it, dropped after), again when HA's birth (<prefix>/status = online) is seen,
#       removed (empty retained) by the decommission command.
#   sparkplug: {"enabled": true, "group": "plant1"}    Sparkplug B edge node (vibenode/sparkplug.py)
#
# The node calls: on_up() after its own birth, on_message() from the link callback (only queues),
# reading(rep) after each live reading went out, service() between windows, death() before a
# deliberate disconnect, decommission() from the command.
import gc

from vibenode import VERSION, drop
from vibenode.log import log


class Integrations:
    def __init__(self, node, cfg):
        self.node = node
        h = cfg.get("ha") or {}
        self.ha = None
        self.ha_due = False
        self.ha_sent = 0
        if h.get("enabled"):
            p = h.get("prefix", "homeassistant")
            self.ha = (p + "/device/" + cfg["node_id"] + "/config", p + "/status", (p + "/status").encode())
        s = cfg.get("sparkplug") or {}
        self.spb = None
        if s.get("enabled"):
            from vibenode.sparkplug import EdgeNode
            self.spb = EdgeNode(cfg, node.link, node.out.enc.buf, node.clock, log)

    def on_up(self, link):
        if self.spb is not None:
            self.spb.on_up()
        if self.ha is not None and link.up:
            self.ha_due = True
            link.subscribe(self.ha[1], 1)

    def on_message(self, topic, msg):
        """True when the message is ours (taken or queued here), False for the command inbox."""
        if isinstance(topic, str):
            return False  # (the link passes bytes; a str is a command the node queued itself)
        if not isinstance(topic, bytes):
            topic = bytes(topic)
        if self.ha is not None and topic == self.ha[2]:
            if msg is not None and bytes(msg) == b"online":
                self.ha_due = True  # (HA restarted: it forgets discovery that is not retained)
            return True
        return self.spb is not None and self.spb.on_message(topic, msg)

    def reading(self, rep):
        if self.spb is not None and "replayed" not in rep:
            self.spb.reading(rep)

    def service(self):
        if self.spb is not None and self.spb.cmds:
            self.spb.service(self.node)
        if self.ha_due and self.node.link.up:
            self.ha_due = False
            self.publish_ha(False)

    def publish_ha(self, remove):
        """The discovery payload (streamed, component by component: vibenode/hadisc.py) or, to
        remove the device from HA, an empty retained message."""
        n = self.node
        if remove:
            payload = b""
        else:
            from vibenode import hadisc
            payload = hadisc.Discovery(n.cfg, n.topics, VERSION, n.board,
                                       self.spb.t_death if self.spb is not None else None)
        ok = n.link.publish(self.ha[0], payload, retain=True, qos=1)
        payload = hadisc = None
        drop("vibenode.hadisc")
        gc.collect()
        if ok:
            self.ha_sent += 1
            log("ha", "discovery %s on %s" % ("removed" if remove else "published", self.ha[0]))
        return ok

    def death(self):
        if self.spb is not None:
            self.spb.death()

    def decommission(self):
        """Remove the node from Home Assistant (and stop announcing it). Returns what was done."""
        r = {}
        if self.ha is not None:
            r["ha_removed"] = ok = self.publish_ha(True)
            if ok:  # (not delivered: still announced, the command may be sent again)
                self.ha_due = False
                self.ha = None
        return r
