# The node's side of an application update (lib/ota): start it from the `ota` command, resume it
# after a reboot, and the new app's probation. Loaded only while an update or a probation is
# under way (the node looks for the working directory .ota at boot) and dropped after: steady cost 0.
#
# Probation: the new app must publish a reading (QoS 1, no error on status) within trial_s seconds
# of a boot; firmware/appsel.py allows it max_boots boots. Otherwise the pointer goes back to
# the previous app, the node restarts on it and reports {"event": "ota", "state": "rolled_back",
# "error": why}. A delivered reading commits: the pointer keeps the new app, the .ota directory
# goes, the board marks a new firmware image valid (esp32.Partition, boards/).
import os

from ota import WORK
from vibenode import drop
from vibenode.log import log


class _IO:
    def __init__(self, node):
        self.link = node.link
        self.clock = node.clock
        self.topics = node.topics
        self._out = node.out
        self.firmware = node.board.firmware_writer  # boards/: esp32.Partition (emulated on the host)

    def event(self, fields):
        return self._out.event("ota", fields)


def _arch_board(node):
    return node.board.NAME


def start(node, rid, version, trial_s=600, url=None):
    """The `ota` command: a new session (replacing one in progress). None or an error text."""
    from ota import stage
    if stage.pointer().get("trial"):
        return "the running app is still on probation"
    from ota.session import Session
    node.ota = Session.start(_IO(node), _arch_board(node), rid, version, trial_s, url)
    if node.link.up and not url:
        node.link.subscribe(node.topics.ota_data, 1)
    log("ota", "update to %s started" % version)
    return None


def resume(node):
    """At boot, with an `ota` directory: a probation, a rollback to report, or a download."""
    from ota import stage
    p = stage.pointer()
    if p.get("trial"):
        node.trial = Trial(node, p)
        from store import atomic
        atomic.remove(WORK + "/state.json")
    elif p.get("rolled_back") is None:
        from ota.session import Session
        node.ota = Session.resume(_IO(node), _arch_board(node))
        if node.ota is None:
            stage.rmtree(WORK)
    node.ota_p = p


def link_up(node):
    if node.ota is not None and not node.ota.st.get("url"):
        node.link.subscribe(node.topics.ota_data, 1)
        node.ota.resend()
    p = getattr(node, "ota_p", None)
    if p is not None and p.get("rolled_back") is not None:
        rb = p["rolled_back"]
        if node.out.event("ota", {"state": "rolled_back", "version": rb.get("version"), "error": rb.get("why")}):
            from ota import stage
            from store import atomic
            del p["rolled_back"]
            atomic.write_json(stage.POINTER, p)
            stage.rmtree(WORK)
            node.ota_p = None


def service(node):
    if not node.ota.service():
        ok = node.ota.error is None
        node.ota = None
        for m in ("ota.session", "ota.stage", "ota.bundle"):
            drop(m)
        if node.trial is None:
            node.otactl = None
            drop("vibenode.otactl")
        if ok:
            log("ota", "installed: restarting into the new app (on probation)")
            node.reboot_req = True


class Trial:
    def __init__(self, node, p):
        self.node = node
        self.p = p
        self.t0 = node.clock.ticks_ms()
        log("ota", "app %s on probation (boot %d of %d, %d s)" % (p.get("version"), p.get("boots", 0),
                                                                   p.get("max_boots", 3), p.get("trial_s", 600)))

    def healthy(self):
        """A reading was delivered: the new app stays."""
        n = self.node
        from ota import stage
        from store import atomic
        p = self.p
        for k in ("trial", "boots", "max_boots", "trial_s"):
            p.pop(k, None)
        atomic.write_json(stage.POINTER, p)
        stage.rmtree(WORK)
        try:
            n.board.mark_app_valid()  # a new firmware image: cancel the bootloader's rollback
        except AttributeError:
            pass
        n.out.event("ota", {"state": "committed", "version": p.get("version")})
        log("ota", "app %s committed" % p.get("version"))
        n.trial = None

    def check(self):
        c = self.node.clock
        if not self.node.reboot_req and c.ticks_diff(c.ticks_ms(), self.t0) > self.p.get("trial_s", 600) * 1000:
            rollback(self.node, self.p, "no healthy reading within %d s" % self.p.get("trial_s", 600))


def rollback(node, p, why):
    from ota import stage
    from store import atomic
    log("ota", "rolling back from %s: %s" % (p.get("version"), why))
    atomic.write_json(stage.POINTER, {"active": p.get("prev", ""), "prev": "",
                                      "rolled_back": {"version": p.get("version"), "why": why}})
    node.reboot_req = True


def exists(path=WORK):
    try:
        os.stat(path)
        return True
    except OSError:
        return False
