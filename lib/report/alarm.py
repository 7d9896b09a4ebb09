# Alarm states with hysteresis. A rule has ascending thresholds and one state per band between
# them: a threshold rule {"warn": w, "alarm": a} has states ok < w <= warn < a <= alarm; the ISO
# 10816-3 zone rule has boundaries A/B, B/C, C/D and states A..D. The state rises as soon as the
# value reaches a threshold and falls back below it only when the value drops under
# (1 - hysteresis) x that threshold, so a value hovering at a limit does not flood the alarm topic.
# Every change is one alarm message.
#
#   spec = {"hysteresis": 0.1, "rules": [{"metric": "rms", "axis": "any", "warn": 0.7, "alarm": 1.4}]}
#   a = Alarms(spec); a.set_zones((2.3, 4.5, 7.1)); a.update(reading) -> [(rule, old, new, value, limit)]
# axis "x"/"y"/"z" reads reading[axis][metric]; "any" the largest of the three; a metric that is
# a top-level number of the reading (e.g. "temp_c") is read from there.
LEVELS = ("ok", "warn", "alarm")
ZONES = ("A", "B", "C", "D")
_AXES = ("x", "y", "z")


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Alarms:
    def __init__(self, spec=None):
        self.zone_rule = None
        self.zone_state = 0
        self.configure(spec or {})

    def configure(self, spec):
        self.h = float(spec.get("hysteresis", 0.1))
        self.rules = list(spec.get("rules", []))
        self.state = [0] * len(self.rules)

    def set_zones(self, limits, metric="vel"):
        """ISO 10816-3 zone alarms on velocity RMS (boundaries A/B, B/C, C/D in mm/s)."""
        self.zone_rule = {"metric": metric, "axis": "any", "zones": list(limits)}

    @staticmethod
    def value(reading, metric, axis):
        """reading[axis][metric]; another axis ("any"): the largest of the three axes' values, else
        the reading's own top-level number (e.g. "temp_c"); None when there is no number."""
        one = axis in _AXES
        best = None
        for ax in _AXES:
            if one and ax != axis:
                continue
            d = reading.get(ax)
            v = d.get(metric) if isinstance(d, dict) else None
            if _num(v) and (best is None or v > best):
                best = v
        if best is None and not one:
            v = reading.get(metric)
            if _num(v):
                best = v
        return best

    def level(self, old, v, th):
        """New state index for value v, from state `old`, thresholds th (ascending)."""
        new = 0
        for t in th:
            if v >= t:
                new += 1
        lo = 1.0 - self.h
        k = old
        while k > new:  # falling: stay in a band until the value is clearly below its threshold
            if v >= th[k - 1] * lo:
                return k
            k -= 1
        return new

    def _check(self, r, old, names, th, reading, out):
        v = self.value(reading, r["metric"], r.get("axis", "any"))
        if v is None:
            return old
        new = self.level(old, v, th)
        if new != old:
            lim = th[max(new, old) - 1]
            out.append((r, names[old], names[new], v, lim))
        return new

    def update(self, reading):
        out = []
        for i, r in enumerate(self.rules):
            self.state[i] = self._check(r, self.state[i], LEVELS, (r["warn"], r["alarm"]), reading, out)
        z = self.zone_rule
        if z is not None:
            self.zone_state = self._check(z, self.zone_state, ZONES, z["zones"], reading, out)
        return out
