# Baseline learning and anomaly judging per window (issue 12; contract: docs/mqtt.md).
#
#   bl = Baseline(cfg, log)            cfg: the node config (sections baseline, features)
#   out = bl.observe(rep)              every reading: running state, learn or judge; the reading
#                                      to publish (the full one, or a heartbeat: report.py)
#   for al in bl.take_alarms(): ...    alarm messages of the last window (level/drift changes)
#   bl.status()                        {"state", "learning": "212/300", "level", "drift", ...}
#
# A window is running when any axis's velocity RMS >= run_vel (mm/s) or RMS >= run_g (g) and,
# when the shaft speed is known (features.rpm), a spectral peak lies at 1x (or the top-K peaks
# are all >= run_g / 2, so 1x may hide below them; a stopped machine's peaks are noise). Only running
# windows are learned and judged; the first `settle` running windows after a stop are not
# judged (run-up). Features (per axis: vel, rms, hf, cf, ku, env, 1x, 2x; and temp) are
# integers: amplitudes log2 in Q8 (kernel.tolog), the temperature in Q8 degC. Learning keeps a
# streaming median and mean-absolute-deviation median per feature (kernel.learn: 8 bytes a
# feature) and is saved atomically every `save_every` windows (a reboot resumes it). Judging
# (kernel.judge) gives z per feature (spread floored), the largest |z| and the mean z**2
# (diagonal Mahalanobis); a window's level is warn/alarm when either passes its level; the
# state enters a level after m of the last n windows, leaves it after k windows below the
# lower exit levels; an ISO 10816-3 zone C/D alarms at once. The EWMA (1/64) of the mean z**2
# is the drift detector. Cold code (set-up, get/set, persistence) is in baseline/cold.py, the
# alarm messages and the status block in baseline/events.py: both loaded when needed, dropped after.
import array

from micropython import const

try:
    from baseline import kernel as _k
except Exception:  # no viper here
    from baseline import twin as _k

AXES = ("x", "y", "z")
KINDS = ("vel", "rms", "hf", "cf", "ku", "env", "1x", "2x")
_NK = const(8)
NF = const(25)  # 3 x 8 + temp
_T = const(24)
_Q = 65536.0
_CAP = 16383.0


def names():
    out = [k + "." + a for a in AXES for k in KINDS]
    out.append("temp")
    return out


def _bounds(f1):
    t = max(1.0, 0.03 * f1)
    t2 = max(1.0, 0.06 * f1)
    return (f1 - t, f1 + t, 2 * f1 - t2, 2 * f1 + t2)


def _drop(name):
    """Unload baseline/<name>.py (cold.py: set-up, persistence, get/set; events.py: alarm messages
    and the status block): its code sits in the heap only while it is used."""
    import sys
    sys.modules.pop("baseline." + name, None)
    try:
        delattr(sys.modules["baseline"], name)
    except Exception:
        pass


def _ev():
    from baseline import events
    return events


def _bits(v):
    c = 0
    while v:
        c += v & 1
        v >>= 1
    return c


class Baseline:
    def __init__(self, cfg, log=None):
        from baseline import cold  # (the set-up and the saved state: loaded for this and dropped)
        cold.init(self, cfg, log)
        cold = None
        _drop("cold")

    # ---- features ------------------------------------------------------------------------
    @staticmethod
    def _line(pks, lo, hi):
        """Amplitude of the spectral peak in [lo, hi] Hz, or None when no reported peak is there
        (the line is then not judged: held out of this window)."""
        if pks:
            for pk in pks:
                if lo <= pk[0] <= hi:
                    return pk[1]
        return None

    def extract(self, rep):
        """The reading's features into self.x (raw: value * 2**16, temperature Q8); True when
        the machine runs."""
        x = self.x
        use = self.use
        p = self.p
        run = False
        has1 = False
        for a in range(3):
            r = rep.get(AXES[a])
            o = a * _NK
            if not isinstance(r, dict):
                for j in range(_NK):
                    use[o + j] = 0
                continue
            f1 = self.f1
            if f1 is None and self.auto:
                f1 = r.get("f1")
            env = r.get("env")
            self.dom[a] = env.get("dom") if isinstance(env, dict) else None
            pks = r.get("pks")
            v1 = v2 = None
            if f1:
                b = self.lines if f1 is self.f1 else _bounds(f1)  # 1x, 2x within 3 % (at least 1 Hz)
                v1 = self._line(pks, b[0], b[1])
                v2 = self._line(pks, b[2], b[3])
                if v1 is not None or (pks and pks[-1][1] >= self.mask1):
                    has1 = True  # 1x seen, or hidden under K stronger lines (a stopped machine has none)
            vals = (r.get("vel"), r.get("rms"), r.get("hf"), r.get("cf"), r.get("ku"),
                    env.get("a") if isinstance(env, dict) else None, v1, v2)
            for j in range(_NK):
                v = vals[j]
                if v is None:
                    use[o + j] = 0
                else:
                    use[o + j] = 1
                    x[o + j] = int(min(max(v, 0.0), _CAP) * _Q)  # (one float per feature)
            if (r.get("vel") or 0) >= p["run_vel"] or (r.get("rms") or 0) >= p["run_g"]:
                run = True
            if r.get("iso") in ("C", "D"):
                self.iso = r["iso"]
        t = rep.get("temp_c")
        use[_T] = 1 if t is not None else 0
        if t is not None:
            x[_T] = int(max(-200.0, min(t, 1000.0)) * 256)
        if run and p["require_1x"] and (self.f1 is not None) and not has1:
            run = False
        return run

    # ---- one window ----------------------------------------------------------------------
    def observe(self, rep):
        self.iso = None
        run = self.extract(rep)
        if "x" in rep:
            rep["running"] = run
        if run != self.running:
            self.running = run
            self.since_run = 0
        _k.tolog(self.x, self.lin, NF)
        if run:
            self.since_run += 1
            if self.count < self.p["learn"]:
                self._learn()
            elif self.since_run > self.p["settle"]:
                self._judge(rep)
                if "x" in rep:
                    rep["bz"] = self.last[0] / 256  # the largest |z| of this window (baseline)
        if self.iso is not None and self.level < 2:
            self._set(2, "iso", rep, 0)
        if self.rbe is not None:
            return self.rbe.pick(self, rep)
        return rep

    def _learn(self):
        st = self.st
        seen = self.seen
        use = self.use
        for i in range(NF):  # a feature's first window sets its centre
            if use[i]:
                if not seen[i]:
                    st[2 * i] = self.x[i]
                    st[2 * i + 1] = ((self.floor_c if self.lin[i] else self.floor) * 256) // 380
                elif seen[i] < 65535:
                    seen[i] += 1
        _k.learn(st, self.x, use, NF, 3 if self.count < self.p["learn"] // 2 else 5)
        for i in range(NF):
            if use[i] and not seen[i]:
                seen[i] = 1
        self.count += 1
        if self.count % self.p["save_every"] == 0 or self.count == self.p["learn"]:
            from baseline import cold
            cold.save(self)
            cold = None
            _drop("cold")
            if self.count == self.p["learn"] and self.log:
                self.log("baseline", "learned over %d running windows" % self.count)

    def _judge(self, rep):
        p = self.p
        use = self.use
        lo = self.p["learn"] >> 2
        n = 0
        for i in range(NF):  # judged: features seen in at least a quarter of the learning windows
            if self.seen[i] < lo:
                use[i] = 0
            n += use[i]
        tot = _k.judge(self.st, self.x, self.z, NF, self.floor, self.floor_c, self.lin, use)
        d2 = tot // max(n, 1)
        zm = self.z[NF + 1]
        self.last = (zm, d2, self.z[NF])
        lv = 0
        q = self.lv
        if zm >= q[0] or d2 >= q[3]:
            lv = 1
        if zm >= q[1] or d2 >= q[4]:
            lv = 2
        mask = (1 << p["n"]) - 1
        self.hw = ((self.hw << 1) | (lv >= 1)) & mask
        self.ha = ((self.ha << 1) | (lv >= 2)) & mask
        new = self.level
        if _bits(self.ha) >= p["m"]:
            new = 2
        elif _bits(self.hw) >= p["m"] and new < 1:
            new = 1
        if new == self.level and new:
            low = zm < q[2] and d2 < q[5] and self.iso is None
            if new == 2 and not low:
                low = zm < q[0] and d2 < q[3] and self.iso is None
                self.calm = self.calm + 1 if low else 0
                if self.calm >= p["k"]:
                    new = 1
            else:
                self.calm = self.calm + 1 if low else 0
                if self.calm >= p["k"]:
                    new = 0
        if new != self.level:
            self.calm = 0
            self._set(new, "baseline", rep, zm)
        self.ew += (d2 - self.ew) >> 6
        dr = self.ew >= q[6] or (self.drift and self.ew >= (q[6] * 3) >> 2)
        if dr != self.drift:
            self.drift = dr
            self._alarm("baseline.drift", rep, ("warn", "ok")[dr], ("ok", "warn")[dr], self.ew / 256,
                        p["drift"], "drift: mean z^2 EWMA %.2f" % (self.ew / 256))

    def top(self, k=3):
        """The k most deviating features of the last judged window: [[name, z], ...]."""
        t = _ev().top(self, k)
        _drop("events")
        return t

    def _set(self, new, why, rep, zm):
        _ev().set_level(self, new, why, rep, zm)
        _drop("events")

    def _alarm(self, metric, rep, old, new, v, lim, msg, top=None):
        _ev().alarm(self, metric, rep, old, new, v, lim, msg, top)
        _drop("events")

    def news(self):
        """True when status should go out again: the level or drift changed, or 10 more windows
        were learned."""
        seen = self.level * 2 + self.drift + (min(self.count, self.p["learn"]) // 10) * 8
        if seen != self._seen:
            self._seen = seen
            return True
        return False

    def take_alarms(self):
        a = self.alarms
        self.alarms = []
        return a

    # ---- state -----------------------------------------------------------------------------
    def learning(self):
        return self.count < self.p["learn"]

    def status(self):
        st = _ev().status(self)
        _drop("events")
        return st

    def relearn(self):
        from baseline import cold
        cold.relearn(self)
        cold = None
        _drop("cold")
