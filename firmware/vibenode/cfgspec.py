# The config sections' rules: one table per section, the one place that defines each key's type and
# range. config.check() (host and device, loaded for the check and dropped after) runs them; the
# owners (features/setup.py, report/alarm.py, outbox.py, ...) trust what passed;
# schemas/config.schema.json says the same (tests/test_config_sections.py checks both agree).
#
# A rule is a tuple:
#   (I, lo, hi) integer    (N, lo, hi) number     (B,) true/false     (S, lo, hi) text (no control chars)
#   (E, choices) one of    (P, lo, hi) [lo, hi], two numbers lo < hi within lo..hi
#   (O, spec[, post]) an object: spec {key: rule}, other keys warned about and ignored;
#                     post(obj, field) checks across keys
#   (L, n, rule) a list of at most n items     (Z, rule) null, or the rule     (F, fn) fn(v, field)
# Errors: "<section>.<key>[i].<key>: <what is wrong>" (config.ConfigError).
#
# Add a section: its name in config.OPEN_SECTIONS and one entry in SECTIONS (name -> spec table, or a
# function fn(sec, field, warnings, cfg) that raises through _fail), its property in the schema, cases in
# tests/test_config_sections.py.
from vibenode.config import MAX_NETWORKS, _fail, _fname, _ident, _int, _is_int, _is_num, _num, _obj, _text, _unknown

I, N, B, S, E, P, O, L, Z, F = "I", "N", "B", "S", "E", "P", "O", "L", "Z", "F"
NYQ = 12800  # the highest sampling.rate's Nyquist frequency, Hz
METRICS = ("rms", "pk", "p2p", "cf", "ku", "sk", "mean", "vel", "hf", "f0", "temp_c")  # alarm metrics
AXES = ("x", "y", "z", "any")
MAX_RULES = 8


def _rpm(v, f):
    if v is not None and v != "auto" and v != 0:
        if not _is_num(v) or not 1 <= v <= 120000:
            _fail(f, "shaft speed 1 to 120000 rpm, \"auto\" or null, got %r" % (v,))


def _sband(v, f):
    """features.stream.band: [lo, hi] Hz, or "auto" (found from the spectrum: vibenode/wideband.py)."""
    if v != "auto":
        rule(v, (P, 0, 13334), f, None)


def _dns(v, f):
    """"dhcp", or a resolver's IPv4 address with an optional port (link/dns.py)."""
    if v == "dhcp":
        return
    if isinstance(v, str):
        a, _, p = v.partition(":")
        q = a.split(".")
        if len(q) == 4 and all(x.isdigit() and len(x) <= 3 and int(x) < 256 for x in q) and \
                (not p or (p.isdigit() and 0 < int(p) < 65536)):
            return
    _fail(f, "\"dhcp\" or a resolver address a.b.c.d[:port], got %r" % (v,))


def _ssid(n, f):
    if "ssid" not in n:
        _fail(f + ".ssid", "required")


def _country(v, f):
    if not isinstance(v, str) or len(v) != 2 or not v.isalpha():
        _fail(f, "a two-letter country code, got %r" % (v,))


def _offline(v, f):
    if not (_is_int(v) and v == 0):
        _int(v, f, 60, 604800)


def _rules(r, f):
    for k in ("metric", "warn", "alarm"):
        if k not in r:
            _fail(f + "." + k, "required")
    if r["alarm"] < r["warn"]:
        _fail(f + ".alarm", "must not be below warn")


def _backoff(s, f):
    if s.get("backoff_min_s", 0.5) > s.get("backoff_max_s", 60):
        _fail(f + ".backoff_min_s", "must not exceed backoff_max_s")


def _geometry(g, f):
    for k in ("balls", "ball_d", "pitch_d"):
        if k not in g:
            _fail(f + "." + k, "required")
    if g["pitch_d"] <= g["ball_d"]:
        _fail(f + ".pitch_d", "must exceed ball_d")


MULT = (N, 0.01, 100)
BEARING = (O, {"multiples": (O, {"BPFO": MULT, "BPFI": MULT, "BSF": MULT, "FTF": MULT}),
               "geometry": (O, {"balls": (I, 1, 100), "ball_d": (N, 0.01, 1000), "pitch_d": (N, 0.01, 10000),
                                "angle": (N, 0, 90)}, _geometry),
               "BPFO": MULT, "BPFI": MULT, "BSF": MULT, "FTF": MULT})  # (flat multiples: features/bearing.py)
GROUP = (E, (1, 2))
FOUNDATION = (E, ("rigid", "flexible"))
BUS = {"chip": (S, 1, 16), "bus": (S, 1, 16), "addr": (I, 0, 127)}
TEMP = dict(BUS, rref=(N, 1, 100000), r0=(N, 1, 10000), wires=(E, (2, 3, 4)), filter_hz=(E, (50, 60)),
            averages=(I, 1, 64), cycle_ms=(I, 10, 3600000), low_c=(N, -273, 1000), high_c=(N, -273, 1000))

def _power(p, f, warnings, cfg):
    """{"mode": "always" | "sleep", "interval_s": s between wakes, "awake_max_s": bound on one awake
    period} (vibenode/duty.py); defaults filled in when the section is there."""
    _unknown(_obj(p, f), ("mode", "interval_s", "awake_max_s"), f, warnings)
    if p.setdefault("mode", "always") not in ("always", "sleep"):
        _fail(f + ".mode", "\"always\" or \"sleep\", got %r" % (p["mode"],))
    _int(p.setdefault("interval_s", 600), f + ".interval_s", 10, 86400)
    _int(p.setdefault("awake_max_s", 30), f + ".awake_max_s", 5, min(600, p["interval_s"] - 1))


def _ha(h, f, warnings, cfg):
    """{"enabled": bool, "prefix": HA's discovery prefix} (vibenode/integrations.py)."""
    _unknown(_obj(h, f), ("enabled", "prefix"), f, warnings)
    if not isinstance(h.get("enabled", False), bool):
        _fail(f + ".enabled", "true or false, got %r" % (h["enabled"],))
    _ident(h.setdefault("prefix", "homeassistant"), f + ".prefix")


def _sparkplug(s, f, warnings, cfg):
    """{"enabled": bool, "group": Sparkplug group id, default the site} (vibenode/sparkplug.py)."""
    _unknown(_obj(s, f), ("enabled", "group"), f, warnings)
    if not isinstance(s.get("enabled", False), bool):
        _fail(f + ".enabled", "true or false, got %r" % (s["enabled"],))
    _ident(s.setdefault("group", cfg["site"]), f + ".group")


# baseline (lib/baseline/model.py, its defaults there): key -> (integer?, lo, hi)
_BL = {"learn": (1, 10, 100000), "run_vel": (0, 0, 1000), "run_g": (0, 0, 16), "floor": (0, 0.01, 4),
       "floor_c": (0, 0.01, 50), "warn_z": (0, 1, 100), "alarm_z": (0, 1, 100), "warn_d2": (0, 0.1, 1000),
       "alarm_d2": (0, 0.1, 1000), "exit_z": (0, 0.5, 100), "exit_d2": (0, 0.1, 1000), "m": (1, 1, 30),
       "n": (1, 1, 30), "k": (1, 1, 1000), "settle": (1, 0, 1000), "drift": (0, 0.1, 1000),
       "save_every": (1, 1, 10000)}


def _baseline(sec, f, warnings, cfg):
    """(lib/baseline/model.py, its defaults there)"""
    _unknown(_obj(sec, f), tuple(_BL) + ("enabled", "require_1x", "file", "report"), "baseline", warnings)
    for k in sec:
        f = "baseline." + k
        if k in _BL:
            (_int if _BL[k][0] else _num)(sec[k], f, _BL[k][1], _BL[k][2])
        elif k in ("enabled", "require_1x") and not isinstance(sec[k], bool):
            _fail(f, "true or false, got %r" % (sec[k],))
    if "file" in sec:
        _fname(sec["file"], "baseline.file")
    if sec.get("m", 3) > sec.get("n", 5):
        _fail("baseline.m", "at most baseline.n (%r), got %r" % (sec.get("n", 5), sec.get("m", 3)))
    if sec.get("alarm_z", 8.0) < sec.get("warn_z", 5.0) or sec.get("exit_z", 3.0) > sec.get("warn_z", 5.0):
        _fail("baseline.warn_z", "exit_z <= warn_z <= alarm_z")
    r = sec.get("report")
    if r is not None:
        _unknown(_obj(r, "baseline.report"), ("every", "deadband", "deadband_c"), "baseline.report", warnings)
        _int(r.get("every", 10), "baseline.report.every", 1, 10000)
        _num(r.get("deadband", 0.2), "baseline.report.deadband", 0.001, 10)
        _num(r.get("deadband_c", 1.0), "baseline.report.deadband_c", 0.01, 100)


SECTIONS = {
    "wifi": {"networks": (L, MAX_NETWORKS, (O, {"ssid": (S, 1, 32), "open": (B,), "hidden": (B,)}, _ssid)),
             "country": (F, _country), "hostname": (S, 1, 63)},
    "portal": {"timeout_s": (I, 30, 86400), "offline_s": (F, _offline)},  # (defaults: config.DEFAULTS)
    "sensors": {"accel": (Z, (O, BUS)), "temp": (Z, (O, TEMP))},
    "features": {  # lib/features/engine.py documents them
        "top_k": (I, 1, 16),
        "bands": (L, 8, (P, 0, NYQ)),
        "hf_band": (Z, (P, 0, NYQ)),
        "velocity": (O, {"band": (P, 0.5, NYQ), "group": GROUP, "foundation": FOUNDATION}),
        "rpm": (F, _rpm),
        "rpm_range": (P, 1, 120000),
        "bearing": (Z, BEARING),
        "envelope": (Z, (O, {"band": (P, 0, NYQ), "harmonics": (I, 1, 10), "tol": (N, 0.001, 0.2),
                             "alarm": (N, 1, 1000)})),
        "export": (O, {"bins": (I, 16, 2048)}),
        "stream": (O, {"band": (F, _sband), "hf_band": (P, 0, 13334), "n": (E, (256, 512, 1024, 2048, 4096)),
                       "axes": (I, 1, 3), "harmonics": (I, 1, 10), "tol": (N, 0.001, 0.2),
                       "alarm": (N, 1, 1000)}),  # the IIS3DWB's streamed envelope (features/stream.py)
    },
    "machine": {"name": (S, 1, 64), "group": GROUP, "foundation": FOUNDATION, "rpm": (N, 1, 120000)},
    "bearing": BEARING[1],
    "alarms": {"hysteresis": (N, 0, 0.5),  # report/alarm.py; the set_thresholds command checks them here too
               "rules": (L, MAX_RULES, (O, {"metric": (E, METRICS), "axis": (E, AXES), "warn": (N, 0, 1e6),
                                            "alarm": (N, 0, 1e6)}, _rules))},
    "reporting": {"max_window": (E, (64, 128, 256, 512, 1024, 2048, 4096))},
    "store": {"dir": (F, _fname), "seq_file": (F, _fname), "seq_block": (I, 1, 10000),
              "capacity": (I, 10, 10000000)},
    "link": {"dns": (F, _dns), "backoff_min_s": (N, 0.1, 3600), "backoff_max_s": (N, 1, 86400)},
    "ntp": {"host": (F, lambda v, f: _text(v, f, 1, 253)), "port": (I, 1, 65535), "timeout_s": (N, 0.1, 10)},
    "power": _power,
    "ha": _ha,
    "sparkplug": _sparkplug,
    "baseline": _baseline,
}
POST = {"link": _backoff}


def rule(v, r, f, warnings):
    k = r[0]
    if k == I:
        _int(v, f, r[1], r[2])
    elif k == N:
        _num(v, f, r[1], r[2])
    elif k == B:
        if not isinstance(v, bool):
            _fail(f, "true or false, got %r" % (v,))
    elif k == S:
        _text(v, f, r[1], r[2])
    elif k == E:
        if v not in r[1] or isinstance(v, bool) or (_is_num(v) and not _is_int(v)):
            _fail(f, "one of %s, got %r" % (", ".join(str(c) for c in r[1]), v))
    elif k == P:
        if not (isinstance(v, list) and len(v) == 2 and _is_num(v[0]) and _is_num(v[1])
                and r[1] <= v[0] < v[1] <= r[2]):
            _fail(f, "[lo, hi] with %s <= lo < hi <= %s, got %r" % (r[1], r[2], v))
    elif k == O:
        obj(v, r[1], f, warnings, r[2] if len(r) > 2 else None)
    elif k == L:
        if not isinstance(v, list) or len(v) > r[1]:
            _fail(f, "a list of at most %d items" % r[1])
        for i, x in enumerate(v):
            rule(x, r[2], "%s[%d]" % (f, i), warnings)
    elif k == Z:
        if v is not None:
            rule(v, r[1], f, warnings)
    else:
        r[1](v, f)


def obj(v, spec, f, warnings, post=None):
    _obj(v, f)
    _unknown(v, spec, f, warnings)
    for k in spec:
        if k in v:
            rule(v[k], spec[k], f + "." + k, warnings)
    if post is not None:
        post(v, f)


def check(cfg, warnings):
    """Every section of SECTIONS present in cfg (None counts as absent), in table order."""
    for name in SECTIONS:
        v = cfg.get(name)
        spec = SECTIONS[name]
        if v is None:
            continue
        if isinstance(spec, dict):
            obj(v, spec, name, warnings, POST.get(name))
        else:
            spec(v, name, warnings, cfg)  # a section checked by a function of its own
    s = cfg.get("sampling") or {}
    nyq = s.get("rate", 3200) / 2
    for b in (cfg.get("features") or {}).get("bands") or ():
        if b[0] >= nyq:
            _fail("features.bands", "band %r starts above the Nyquist frequency %s Hz" % (b, nyq))
    mw = (cfg.get("reporting") or {}).get("max_window")
    if mw is not None and s.get("window", 0) > mw:
        _fail("reporting.max_window", "below sampling.window %d" % s["window"])
