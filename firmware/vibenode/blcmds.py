# The baseline commands (vibenode/commands.py loads this for one command and drops it after):
#   baseline.get      the learned values {"count", "learn", "features": {name: [centre, spread]}}
#                     (amplitudes in g or mm/s with the spread as a factor, temp in degC) + status
#   baseline.relearn  forget the baseline and learn again over the next running windows
#   baseline.set      load learned values (e.g. baseline.get of a sister machine): judged at once
from vibenode.commands import Invalid, only


def run(ctl, req):
    bl = ctl.baseline()
    cmd = req.get("cmd")
    if bl is None:
        raise Invalid("cmd: %s needs a baseline section in the config" % cmd)
    from baseline import cold  # (dropped with this module)
    if cmd == "baseline.get":
        only(req, ("id", "cmd", "node"))
        r = cold.get(bl)
        r["status"] = bl.status()
        return r
    if cmd == "baseline.relearn":
        only(req, ("id", "cmd", "node"))
        bl.relearn()
        return bl.status()
    only(req, ("id", "cmd", "node", "features"))
    err = cold.check(req)
    if err is not None:
        raise Invalid(err)
    cold.put(bl, req["features"])
    return bl.status()
