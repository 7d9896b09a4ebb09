# The settings commands (vibenode/commands.py loads this for one command and drops it after):
#   set             {"interval_s": 10, "window": 4096}: the sampling section
#   set_thresholds  {"hysteresis": 0.1, "rules": [{"metric", "axis", "warn", "alarm"}]}: the alarms section
# Checked in full before anything changes, then saved in config.json (ctl.save: validated, atomic)
# and applied at once.
from vibenode import drop
from vibenode.cmd_fields import integer, number
from vibenode.commands import Invalid, only


def run(ctl, req):
    # config's validator (cfgspec, which loads config) stays loaded from the check of the fields
    # through the save (config.save checks the whole config with it), so it is in the heap once
    from vibenode import cfgspec
    try:
        return (set_sampling if req["cmd"] == "set" else set_thresholds)(ctl, req, cfgspec)
    finally:
        cfgspec = None
        drop("vibenode.cfgspec")


def set_sampling(ctl, req, cfgspec):
    from vibenode.config import INTERVAL_S, WINDOW  # the sampling limits: config's, the one place
    only(req, ("id", "cmd", "node", "interval_s", "window"))
    iv = req.get("interval_s")
    win = req.get("window")
    if iv is None and win is None:
        raise Invalid("set: give interval_s and/or window")
    if iv is not None:
        number(iv, "interval_s", INTERVAL_S[0], INTERVAL_S[1])
    if win is not None:
        integer(win, "window", WINDOW[0], WINDOW[1])
        if win & (win - 1):
            raise Invalid("window: must be a power of two")
        if win > ctl.max_window:
            raise Invalid("window: at most %d on this node (memory)" % ctl.max_window)
    upd = {}
    if iv is not None:
        upd["interval_s"] = iv
    if win is not None:
        upd["window"] = win
    err = ctl.save("sampling", upd, False)
    if err:
        raise Invalid("not saved: %s" % err)
    return {"sampling": ctl.set_sampling(iv, win)}


def set_thresholds(ctl, req, cfgspec):
    only(req, ("id", "cmd", "node", "rules", "hysteresis"))
    rules = req.get("rules")
    if rules is None:
        raise Invalid("rules: required")
    spec = {"hysteresis": req.get("hysteresis", 0.1), "rules": rules}
    w = []
    try:  # the alarms section's rules: config's table, the one place
        cfgspec.obj(spec, cfgspec.SECTIONS["alarms"], "alarms", w)
    except ValueError as e:
        raise Invalid(str(e))
    if w:
        raise Invalid(w[0].replace("unknown key, ignored", "unknown field"))
    out = [{"metric": r["metric"], "axis": r.get("axis", "any"), "warn": r["warn"], "alarm": r["alarm"]}
           for r in rules]
    spec = {"hysteresis": spec["hysteresis"], "rules": out}
    err = ctl.save("alarms", spec, True)
    if err:
        raise Invalid("not saved: %s" % err)
    ctl.set_alarms(spec)
    return {"rules": len(out)}
