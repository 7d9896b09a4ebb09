# capture (vibenode/commands.py loads this for the one command and drops it after):
#   {"id": "r3", "cmd": "capture", "kind": "waveform", "axis": "x"}   kind: waveform, spectrum, envelope;
#   axis: x, y, z or all. The node sends the capture with the next window, on the topic the ack names.
from vibenode.cmd_fields import choice
from vibenode.commands import Invalid, only

_KINDS = ("waveform", "spectrum", "envelope")
_AXES = ("x", "y", "z", "all")


def run(ctl, req):
    only(req, ("id", "cmd", "node", "kind", "axis"))
    kind = choice(req.get("kind"), "kind", _KINDS)
    ax = choice(req.get("axis", "all"), "axis", _AXES)
    r = ctl.capture(req["id"], kind, ax)
    if isinstance(r, ValueError):
        raise Invalid("capture: %s" % r)
    return {"kind": kind, "axis": ax, "topic": r}
