# The baseline's cold code, loaded when needed and dropped after: persistence (an atomic file,
# store/atomic.py: a power cut leaves the old or the new state) and the learned values as
# numbers for baseline.get / baseline.set (vibenode/blcmds.py).
#
# File: b"VNBL", version, feature count, windows learned (<4sHHI), the state (2 x int32 per
# feature: centre, mean-absolute-deviation), the windows each feature was seen in (uint16 per
# feature), then a 16-bit sum of the bytes before it.
import array
import math
import struct

from store import atomic

_HEAD = "<4sHHI"
_VER = 1
DEFAULTS = {"learn": 300, "run_vel": 0.3, "run_g": 0.02, "require_1x": True, "floor": 0.1, "floor_c": 0.5,
            "warn_z": 5.0, "alarm_z": 8.0, "warn_d2": 4.0, "alarm_d2": 9.0, "exit_z": 3.0, "exit_d2": 2.0,
            "m": 3, "n": 5, "k": 5, "settle": 3, "drift": 3.0, "save_every": 10, "file": "baseline.bin"}


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


def init(bl, cfg, log):
    """Baseline(cfg, log)'s set-up (its config, buffers and state; the saved state resumed)."""
    from baseline.model import NF, _bounds
    b = cfg.get("baseline") or {}
    bl.p = p = {}
    for k in DEFAULTS:
        p[k] = b.get(k, DEFAULTS[k])
    bl.log = log
    f = cfg.get("features") or {}
    rpm = f.get("rpm")
    bl.f1 = rpm / 60.0 if isinstance(rpm, (int, float)) and not isinstance(rpm, bool) else None
    bl.lines = _bounds(bl.f1) if bl.f1 else None
    bl.mask1 = p["run_g"] * 0.5
    bl.auto = rpm == "auto" or (rpm is None and "bearing" in f)
    bl.use = bytearray(NF)  # features this node has (others are held at their centre)
    for i in range(NF):
        bl.use[i] = 1
    bl.lin = bytearray(NF)  # 1: linear (temperature), 0: log2
    bl.lin[NF - 1] = 1  # (the temperature: the last feature)
    bl.x = array.array("i", bytes(4 * NF))
    bl.z = array.array("i", bytes(4 * (NF + 2)))
    bl.st = array.array("i", bytes(8 * NF))
    bl.seen = array.array("H", bytes(2 * NF))  # learning windows each feature was present in
    bl.floor = int(p["floor"] * 256)
    bl.floor_c = int(p["floor_c"] * 256)
    # levels as Q8 integers (no float arithmetic per window): warn, alarm, exit of |z| and mean z**2
    bl.lv = [int(p[k] * 256) for k in ("warn_z", "alarm_z", "exit_z", "warn_d2", "alarm_d2", "exit_d2",
                                       "drift")]
    bl.count = 0
    bl.level = 0
    bl.drift = False
    bl.ew = 0  # EWMA of the mean z**2, Q8
    bl.hw = bl.ha = 0  # bits: windows at warn / alarm level (newest in bit 0)
    bl.calm = 0
    bl.since_run = 0  # running windows since the last stop
    bl.running = False
    bl.last = None  # (zmax Q8, d2 Q8, argmax) of the last judged window
    bl.alarms = []
    bl._seen = None
    bl.iso = None
    bl.dom = [None, None, None]  # strongest envelope defect line per axis (named in alarms)
    bl.rbe = None
    r = b.get("report")
    if r and r.get("every", 0):
        from baseline.report import Rbe
        bl.rbe = Rbe(r, NF)
    load(bl)


def relearn(bl):
    """Forget the baseline (saved at once) and learn again over the next running windows."""
    from baseline.model import NF
    bl.count = 0
    for i in range(NF):
        bl.seen[i] = 0
    bl.level = 0
    bl.hw = bl.ha = bl.calm = bl.ew = 0
    bl.drift = False
    bl.last = None
    save(bl)
