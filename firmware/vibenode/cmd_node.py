# The node's own commands (vibenode/commands.py loads this for one command and drops it after):
#   identify {"seconds": 10}: blink the LED      reboot: a deliberate restart (nothing lost)
#   decommission: removed from Home Assistant, the node keeps measuring
from vibenode.cmd_fields import integer
from vibenode.commands import only


def run(ctl, req):
    cmd = req["cmd"]
    if cmd == "identify":
        only(req, ("id", "cmd", "node", "seconds"))
        s = integer(req.get("seconds", 10), "seconds", 1, 600)
        ctl.identify(s)
        return {"seconds": s}
    only(req, ("id", "cmd", "node"))
    if cmd == "reboot":
        ctl.reboot()
        return None
    return ctl.decommission()
