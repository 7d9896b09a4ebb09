# The baseline's cold code, loaded when needed and dropped after: persistence (an atomic file,
# store/atomic.py: a power cut leaves the old or the new state) and the learned values as
# numbers for baseline.get / baseline.set (vibenode/blcmds.py).
#
# File: b"VNBL", version, feature count, windows learned (<4sHHI), the state (2 x int32 per
# feature: centre, mean-absolute-deviation), the windows each feature was seen in (uint16 per
# feature), then a 16-bit sum of the bytes before it.
import math
import struct

from store import atomic

_HEAD = "<4sHHI"
_VER = 1


def _sum(b, n):
    s = 0
    for i in range(n):
        s += b[i]
    return s & 0xFFFF


def _ok(data):
    n = len(data)
    if n < 14 or data[:4] != b"VNBL":
        return False
    return struct.unpack("<H", data[n - 2:])[0] == _sum(data, n - 2)


def save(bl):
    head = struct.pack(_HEAD, b"VNBL", _VER, len(bl.use), bl.count)
    body = bytes(bl.st) + bytes(bl.seen)
    data = bytearray(head + body + b"\0\0")
    n = len(data) - 2
    data[n:] = struct.pack("<H", _sum(data, n))
    try:
        atomic.write(bl.p["file"], data)
    except OSError as e:
        if bl.log:
            bl.log("baseline", "cannot save: %s" % atomic.describe(e))


def load(bl):
    data = atomic.read(bl.p["file"], _ok)
    if data is None:
        return False
    _, ver, nf, count = struct.unpack(_HEAD, data[:12])
    if ver != _VER or nf != len(bl.use) or len(data) != 14 + 10 * nf:
        return False
    st = bl.st
    for i in range(2 * nf):
        st[i] = struct.unpack("<i", data[12 + 4 * i:16 + 4 * i])[0]
    o = 12 + 8 * nf
    for i in range(nf):
        bl.seen[i] = struct.unpack("<H", data[o + 2 * i:o + 2 * i + 2])[0]
    bl.count = count
    if bl.log:
        bl.log("baseline", "resumed: %d/%d windows learned" % (min(count, bl.p["learn"]), bl.p["learn"]))
    return True


def get(bl):
    """{"count", "learn", "features": {name: [centre, spread]}}: amplitudes in their units (g,
    mm/s; spread as a factor, 2**sigma), the temperature in degC."""
    from baseline.model import names
    out = {}
    nm = names()
    for i in range(len(nm)):
        m = bl.st[2 * i]
        s = max((bl.st[2 * i + 1] * 380) >> 8, bl.floor_c if bl.lin[i] else bl.floor)
        if bl.lin[i]:
            out[nm[i]] = [round(m / 256, 2), round(s / 256, 2)]
        else:
            out[nm[i]] = [float("%.4g" % (2 ** (m / 256 - 16))), round(2 ** (s / 256), 4)]
    return {"count": bl.count, "learn": bl.p["learn"], "features": out}


def check(req):
    """A baseline.set request's "features" checked: None, or an error text naming the field."""
    from baseline.model import names
    f = req.get("features")
    if not isinstance(f, dict) or not f:
        return "features: must be an object {name: [centre, spread]}"
    nm = names()
    for k in f:
        v = f[k]
        fld = "features.%s" % k
        if k not in nm:
            return "%s: unknown feature (one of %s)" % (fld, ", ".join(nm))
        if not isinstance(v, list) or len(v) != 2 or not all(
                isinstance(e, (int, float)) and not isinstance(e, bool) for e in v):
            return "%s: must be [centre, spread] numbers" % fld
        if k == "temp":
            if not (-50 <= v[0] <= 300 and 0 < v[1] <= 100):
                return "%s: centre -50..300 degC, spread 0..100" % fld
        elif not (0 < v[0] <= 16000 and 1 <= v[1] <= 1000):
            return "%s: centre 0..16000, spread (a factor) 1..1000" % fld
    return None


def put(bl, f):
    """Load learned values (checked by check()); the node judges at once."""
    from baseline.model import names
    nm = names()
    for k in f:
        i = nm.index(k)
        bl.seen[i] = 65535
        c, s = f[k]
        if bl.lin[i]:
            bl.st[2 * i] = int(c * 256)
            bl.st[2 * i + 1] = max(1, int(s * 256) * 256 // 380)
        else:
            bl.st[2 * i] = int((math.log(c) / math.log(2) + 16) * 256)
            bl.st[2 * i + 1] = max(1, int(math.log(s) / math.log(2) * 256) * 256 // 380)
    bl.count = max(bl.count, bl.p["learn"])
    bl.level = bl.hw = bl.ha = bl.calm = 0
    save(bl)
