# The baseline's rare path (lib/baseline/model.py loads it when needed and drops it after): the
# alarm messages of a level or drift change (the features that deviate most named), the top
# deviating features, and the status block.
from baseline.model import AXES, NF, names

_LEVELS = ("ok", "warn", "alarm")


def top(bl, k=3):
    """The k most deviating features of the last judged window: [[name, z], ...]."""
    z = bl.z
    nm = names()
    idx = sorted(range(NF), key=lambda i: -abs(z[i]))[:k]
    return [[nm[i], round(z[i] / 256, 1)] for i in idx if z[i]]


def set_level(bl, new, why, rep, zm):
    old = bl.level
    bl.level = new
    t3 = top(bl) if why == "baseline" else [["iso", bl.iso]]
    parts = []
    for t in t3:
        if why != "baseline":
            parts.append("%s %s" % (t[0], t[1]))
            continue
        d = bl.dom[AXES.index(t[0][-1])] if t[0][:4] == "env." else None
        parts.append(("%s %.1f (%s)" % (t[0], t[1], d)) if d else ("%s %.1f" % (t[0], t[1])))
    msg = "%s: %s" % (_LEVELS[new], ", ".join(parts) or "back to normal")
    lim = bl.p[("exit_z", "warn_z", "alarm_z")[new]] if why == "baseline" else 0
    alarm(bl, "baseline", rep, _LEVELS[old], _LEVELS[new], zm / 256, lim, msg, t3)


def alarm(bl, metric, rep, old, new, v, lim, msg, t3=None):
    al = {"node": rep.get("node"), "seq": rep["seq"], "ts": rep["ts"], "metric": metric, "axis": "any",
          "state": new, "prev": old, "value": round(v, 2), "limit": lim, "msg": msg}
    if t3:
        al["top"] = t3
        if t3[0][0][-2:-1] == "." and t3[0][0][-1] in "xyz":
            al["axis"] = t3[0][0][-1]
    if bl.last:
        al["d2"] = round(bl.last[1] / 256, 2)
    bl.alarms.append(al)
    if bl.log:
        bl.log("alarm", msg)


def status(bl):
    st = {"state": "learning" if bl.learning() else "judging", "learning": "%d/%d" % (
        min(bl.count, bl.p["learn"]), bl.p["learn"]), "level": _LEVELS[bl.level], "drift": bl.drift,
        "running": bl.running}
    if bl.last:
        st["z"] = round(bl.last[0] / 256, 2)
        st["d2"] = round(bl.last[1] / 256, 2)
        st["ewma"] = round(bl.ew / 256, 2)
    return st
