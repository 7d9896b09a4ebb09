# The device's viper kernels on deterministic inputs, for comparing ports: the feature engine's
# (hann_load, cfft, rsplit, power, peaks, bands, envelope, isqrt, export) through whole-engine
# state and results, cfft at every size, env_mag and export_u16 on edge values, the sampler's
# de-interleave and the drivers' burst copies (le16/be16/be24). No files, no argv: it runs as it
# is on the unix ports and on a board (or QEMU) with the build on its path. Integer state is
# printed as checksums; the engine's float results as numbers (single precision on an ESP32).
#   micropython tests/mpy/kernels32.py   ->   RESULT {"engine": ..., "cfft": ..., ...}
import array
import json

from features import envelope, fft, spectrum
from features.engine import FeatureEngine
from sensors.convert import be16_into, be24_axes_into, le16_into
from window.sampler import _deinterleave

_P = 1000000007
_seed = 12345


def rnd(lo, hi):
    """a deterministic integer in [lo, hi] (LCG on small ints)"""
    global _seed
    _seed = (_seed * 1103515 + 12345) % 2147483
    return lo + _seed % (hi - lo + 1)


def digest(a, n=None):
    h = 0
    for i in range(len(a) if n is None else n):
        h = (h * 31 + a[i]) % _P
    return h


MULT = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}


def isin(p):
    """32767 * sin(2 pi p / 65536), Bhaskara's approximation in exact integers (float math differs
    between ports: single precision on an ESP32)"""
    h = p & 0x7FFF
    t = h * (32768 - h)
    v = 4 * t * 32767 // (1342177280 - t)
    return -v if p & 0x8000 else v


def tone(i, f_mhz, fs):
    return isin(i * f_mhz * 65536 // (fs * 1000))


def signal(kind, n, fs):
    """int16 test signals from integers only, the same on every port"""
    x = array.array("h", bytes(2 * n))
    for i in range(n):
        if kind == "noise":
            v = rnd(-3000, 3000) + rnd(-3000, 3000)
        elif kind == "tones":
            v = 1000 + 1500 * tone(i, 29300, fs) // 32767 + 700 * tone(i, 411000, fs) // 32767 + rnd(-5, 5)
        elif kind == "impulses":
            v = rnd(-60, 60) + (2500 if i % 37 == 0 else 0)
        else:  # full-scale square wave at fs / 13.1
            v = 32767 if tone(i, fs * 1000 * 10 // 131, fs) >= 0 else -32768
        x[i] = max(-32768, min(32767, v))
    return x


def engine_case(kind, n, fs):
    cfg = {"bearing": {"multiples": MULT}, "rpm": "auto", "rpm_range": [300, 3600],
           "envelope": {"band": [fs * 0.2, fs * 0.45]}, "top_k": 5}
    e = FeatureEngine(n, fs, cfg)
    x = signal(kind, n, fs)
    e.compute(0, x, 0.001, -30000, 30000)
    state = {}
    for name in ("td", "ex", "pk", "bs", "vs", "sx", "ev"):
        a = getattr(e, name, None)
        if a is not None:
            state[name] = digest(a[0])
    state["p"] = digest(e.p)
    state["buf"] = digest(e.buf)
    return {"impl": e.impl, "state": state, "result": e.result(0)}


_PI_Q60 = 3622009729038561421  # pi * 2**60


def icos_q16(k, n):
    """round(65536 * cos(2 pi k / n)) for 0 <= k <= n / 4, by a Taylor series in exact integers (Q60)"""
    x = 2 * _PI_Q60 * k // n
    x2 = x * x >> 60
    term = 1 << 60
    s = term
    i = 1
    while term:
        term = -(term * x2 >> 60) // ((2 * i - 1) * (2 * i))
        s += term
        i += 1
    return (s + (1 << 43)) >> 44


def cfft_cases():
    out = []
    b = fft.BIAS
    for lg in range(1, 12):
        m = 1 << lg
        n = 2 * m
        tw = array.array("i", [icos_q16(k, n) for k in range(n // 4 + 1)])
        for amp, mx in ((1 << 22, 1 << 22), (3000, -1)):
            a = array.array("i", [rnd(-amp, amp - 1) + b for _ in range(2 * m)])
            st = array.array("i", [0, 0])
            fft.cfft(a, m, tw, 2, mx, st)
            out.append([m, amp, digest(a), list(st)])
    return out


def env_mag_case():
    pairs = [(x, y) for x in (0, 1, -1, 2, 181, -182, 23170, 23171, 32767, -32767) for y in (0, 1, -2, 3, 32767, -32767)]
    pairs += [(rnd(-32767, 32767), rnd(-32767, 32767)) for _ in range(500)]
    a = array.array("i", [0] * (2 * len(pairs)))
    for i in range(len(pairs)):
        a[2 * i] = pairs[i][0] + fft.BIAS
        a[2 * i + 1] = pairs[i][1] + fft.BIAS
    o = array.array("i", [0, 0])
    envelope.env_mag(a, len(pairs), 0, o)
    return [digest(a, len(pairs)), list(o)]


def export_case():
    vals = list(range(300)) + [2147483647, 2147395600, 2147395599, 2147302921, 65535, 65536, 65537]
    vals += [rnd(0, 2147483) * 1000 + rnd(0, 999) for _ in range(500)]
    p = array.array("i", vals)
    o = array.array("H", [0] * len(vals))
    spectrum.export_u16(p, 0, len(vals), 1, o)
    sq = [spectrum.isqrt(v) for v in (0, 1, 2, 3, 15, 16, 17, 65535, 65536, 2147352578, 2147483646)]
    return [digest(o), sq]


def copies_case():
    raw = bytearray(rnd(0, 255) for _ in range(9 * 64))
    out = {}
    d = array.array("h", bytes(2 * 3 * 64 + 8))
    le16_into(d, 3, raw, 3 * 64, 0)
    out["le16"] = digest(d)
    le16_into(d, 0, raw, 3 * 64, 4)
    out["le16_shift4"] = digest(d)
    be16_into(d, 1, raw, 3 * 64, 0)
    out["be16"] = digest(d)
    for i in range(64):  # well-framed ADXL355 sets: X marker on the first entry only
        raw[9 * i + 2] = (raw[9 * i + 2] & 0xF0) | 1
        raw[9 * i + 5] &= 0xF0
        raw[9 * i + 8] &= 0xF0
    raw[9 * 50 + 5] |= 2  # an empty entry stops the copy at set 50
    out["be24"] = [be24_axes_into(d, 0, raw, 64), digest(d)]
    src = array.array("h", [rnd(-32768, 32767) for _ in range(3 * 100)])
    x = array.array("h", bytes(2 * 120))
    y = array.array("h", bytes(2 * 120))
    z = array.array("h", bytes(2 * 120))
    _deinterleave(src, 100, x, y, z, 20)
    out["deinterleave"] = [digest(x), digest(y), digest(z)]
    return out


def main():
    res = {"engine": {}}
    for n, fs in ((512, 3200), (2048, 3200), (4096, 12000)):
        for kind in ("noise", "tones", "impulses", "square"):
            res["engine"]["%s/%d" % (kind, n)] = engine_case(kind, n, fs)
    res["cfft"] = cfft_cases()
    res["env_mag"] = env_mag_case()
    res["export"] = export_case()
    res["copies"] = copies_case()
    print("RESULT " + json.dumps(res))


main()
