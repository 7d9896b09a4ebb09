# The node's side of the command operations that write config.json or start an update:
# vibenode/control.py's Control loads this for one call and drops it after (its code is not in
# the heap while other commands are handled).
# Each function takes the node first.
import json


def save(n, section, upd, replace):
    from vibenode import config
    try:
        # start from the file the node runs on: config.json, or the last good copy when
        # config.json is broken (saving then repairs config.json)
        with open(n.config_state.get("source") or config.PATH) as f:
            raw = json.load(f)
        sec = raw.get(section)
        if replace or not isinstance(sec, dict):
            sec = {}
        for k in upd:
            sec[k] = upd[k]
        raw[section] = sec
        config.save(raw)
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)
    cur = n.cfg.get(section)
    if replace or not isinstance(cur, dict):
        n.cfg[section] = dict(upd)
    else:
        for k in upd:
            cur[k] = upd[k]
    n.config_saved()
    return None


def decommission(n):
    """Empty retained discovery (Home Assistant), then ha.enabled false saved so it is not
    announced again; the node keeps measuring."""
    ig = n.integ
    r = ig.decommission() if ig is not None else {}
    if r.get("ha_removed"):
        e = save(n, "ha", {"enabled": False}, False)
        if e:
            r["error"] = e
    return r


def ota(n, rid, version, trial_s, url):
    from vibenode import otactl
    n.otactl = otactl
    return otactl.start(n, rid, version, trial_s, url)
