# Alarm states with hysteresis: ok -> warn -> alarm when a feature crosses a threshold, and
# back down only when it falls below (1 - hysteresis) x that threshold, so a value hovering at a
# limit does not flood the alarm topic. One state per rule; a change is one alarm message.
#
#   spec = {"hysteresis": 0.1, "rules": [{"metric": "rms", "axis": "any", "warn": 0.7, "alarm": 1.4}]}
#   a = Alarms(spec); changes = a.update(reading)   # [(rule, old, new, value, level)]
# axis "x"/"y"/"z" reads reading[axis][metric]; "any" the largest of the three; a metric that is
# a top-level number of the reading (e.g. "temp_c") is read from there.
STATES = ("ok", "warn", "alarm")


class Alarms:
    def __init__(self, spec=None):
        self.configure(spec or {})

    def configure(self, spec):
        self.h = float(spec.get("hysteresis", 0.1))
        self.rules = list(spec.get("rules", []))
        self.state = [0] * len(self.rules)

    @staticmethod
    def value(reading, metric, axis):
        if axis in ("x", "y", "z"):
            d = reading.get(axis)
            v = d.get(metric) if isinstance(d, dict) else None
            return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        best = None
        for ax in ("x", "y", "z"):
            d = reading.get(ax)
            v = d.get(metric) if isinstance(d, dict) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and (best is None or v > best):
                best = v
        if best is None:
            v = reading.get(metric)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                best = v
        return best

    def level(self, old, v, warn, alarm):
        lo = 1.0 - self.h
        if v >= alarm:
            return 2
        if old == 2 and v >= alarm * lo:
            return 2
        if v >= warn:
            return 1
        if old >= 1 and v >= warn * lo:
            return 1
        return 0

    def update(self, reading):
        out = []
        for i, r in enumerate(self.rules):
            v = self.value(reading, r["metric"], r.get("axis", "any"))
            if v is None:
                continue
            old = self.state[i]
            new = self.level(old, v, r["warn"], r["alarm"])
            if new != old:
                self.state[i] = new
                lim = r["alarm"] if new == 2 or old == 2 else r["warn"]
                out.append((r, STATES[old], STATES[new], v, lim))
        return out
