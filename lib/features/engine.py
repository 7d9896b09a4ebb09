# Feature engine: turns one window of int16 samples per axis into features.
#
#   eng = FeatureEngine(n=2048, rate_hz=3200)
#   eng.compute(axis_index, samples, scale_g)   # no allocation in the kernels
#   eng.result(axis_index)                      # dict for the report (allocates, once per window)
import array
import math

try:
    from features import timedomain as _k
    IMPL = "viper"
except Exception:  # compiled module unusable here (wrong arch / older MicroPython)
    from features import reference as _k
    IMPL = "python"

AXES = ("x", "y", "z")


class FeatureEngine:
    def __init__(self, n, rate_hz, impl=None):
        self.n = n
        self.rate_hz = rate_hz
        self.k = _k
        self.impl = IMPL
        if impl == "python":
            from features import reference
            self.k = reference
            self.impl = "python"
        self._m = array.array("i", [0, 0, 0])
        self._q = array.array("i", [0, 0, 0])
        # per axis: mean, rms, peak, p2p, crest (g) and clipped flag
        self.vals = [array.array("f", [0.0] * 5) for _ in AXES]
        self.clipped = [False, False, False]

    def compute(self, axis, x, scale_g, clip_lo=-32768, clip_hi=32767):
        n = self.n
        m = self._m
        q = self._q
        self.k.moments(x, n, m)
        s, lo, hi = m[0], m[1], m[2]
        mean = (s + (n >> 1)) // n if s >= 0 else -((-s + (n >> 1)) // n)
        self.k.sumsq_split(x, n, mean, q)
        # back to real numbers: a handful of float operations per axis and window
        ss = q[0] * 65536.0 + q[1] * 512.0 + q[2]
        rms = math.sqrt(ss / n) * scale_g
        pk = max(hi - mean, mean - lo) * scale_g
        v = self.vals[axis]
        v[0] = (s / n) * scale_g
        v[1] = rms
        v[2] = pk
        v[3] = (hi - lo) * scale_g
        v[4] = (pk / rms) if rms > 0 else 0.0
        self.clipped[axis] = lo <= clip_lo or hi >= clip_hi

    def result(self, axis):
        v = self.vals[axis]
        return {"mean": round(v[0], 5), "rms": round(v[1], 5), "peak": round(v[2], 5),
                "p2p": round(v[3], 5), "crest": round(v[4], 3), "clipped": self.clipped[axis]}
