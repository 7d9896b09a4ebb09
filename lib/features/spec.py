# The feature engine's float helpers that every engine needs (FeatureEngine.peaks, velocity_rms):
# a wide-band node's velocity engine (features/stream.py) uses these and never loads
# features/result.py (the telemetry dict, bands, HF, envelope; loaded by an engine's first result()).
import math

from features import velocity

try:
    from micropython import const
except ImportError:  # CPython (the host tests run the engine with the plain-Python twins);
    def const(x):    # engine.py, result.py and detail.py take const from here
        return x

# engine.py's slot (FeatureEngine.ex): amplitude of bin k = sqrt(p_k) * 2**ex[_EA]
_EA = const(0)
K163 = 16.0 / 3.0  # power sum to mean square: single-sided (2) x Hann (mean w**2 = 3/8)


def amp_scale(e, axis):
    """g per unit of sqrt(p) in single-sided amplitude (Hann coherent gain corrected)."""
    return 4.0 / e.n * (2.0 ** e.ex[axis][_EA]) * e.scale[axis]


def peaks(e, axis):
    """[(frequency Hz, amplitude g)] of the top-K spectral peaks, strongest first."""
    out = []
    sc = amp_scale(e, axis)
    pk = e.pk[axis]
    for i in range(e.K):
        j = pk[4 * i]
        if not j:
            break
        a = math.sqrt(pk[4 * i + 2])
        d = 0.0
        if a > 0:
            # the neighbours compared as integers (sqrt is monotonic): one root, not two
            if pk[4 * i + 3] >= pk[4 * i + 1]:
                ar = math.sqrt(pk[4 * i + 3])
                d = (2 * ar - a) / (ar + a)
            else:
                al = math.sqrt(pk[4 * i + 1])
                d = (a - 2 * al) / (al + a)  # = -(2 * al - a) / (al + a)
            if d > 0.5:
                d = 0.5
            elif d < -0.5:
                d = -0.5
        corr = 1.0
        if d:
            x = math.pi * d
            corr = x * (1 - d * d) / math.sin(x)
        out.append(((j + d) * e.df, a * corr * sc))
    return out


def velocity_rms(e, axis):
    """mm/s RMS over the velocity band."""
    vs = e.vs[axis]  # (indexed: unpacking an array allocates an iterator)
    v = (vs[0] * 65536.0 + vs[1] + vs[2] / 256.0) / (2 * math.pi * e.df) ** 2  # sum p_k / f_k**2
    return math.sqrt(K163 * v) / e.n * (2.0 ** e.ex[axis][_EA]) * e.scale[axis] * velocity.G_MM_S2
