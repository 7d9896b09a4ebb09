# Node configuration: validated at boot, written atomically, never bricks the node.
#
# Files on the node's filesystem (the device root; on the host board the working directory):
#   config.json         what the node is and does (schema: schemas/config.schema.json, docs/provisioning.md)
#   secrets.json        Wi-Fi passphrases, MQTT credentials, TLS client key, portal passphrase
#   ca.pem, client.pem  broker CA and the node's client certificate (names set in config "tls")
#   config.good.json,   the last pair the node ran on (published a reading: vibenode/lastgood.py);
#   secrets.good.json   used when config.json/secrets.json are missing, corrupt or invalid, or the
#                       boot raised on their content (app.py; status says why: see status())
# The sections' keys are checked by the tables in vibenode/cfgspec.py (loaded for check()); which
# pair a boot runs on is vibenode/cfgload.py (loaded for load(), fallback(), promote()).
#
# The same code validates on the host (tools/provision.py imports this file under CPython) and on
# the device at boot, so both give the same verdict and the same error text: "<field>: <what is wrong>".
# Error messages name secret fields but never contain their values.
#
# load() -> cfg with secrets merged in (mqtt.user/password, wifi.networks[i].psk, tls.key, portal.psk):
# never log or publish cfg as a whole.
import json
import os

from vibenode.lastgood import GOOD, PATH, SECRETS, SECRETS_GOOD, keep  # noqa: F401 (names for callers)

MAX_FILE = 16384  # a config bigger than this is not ours: refuse before parsing

DEFAULTS = {
    "node_id": None,
    "name": None,
    "site": "default",
    "wifi": {"networks": []},
    "mqtt": {"host": None, "prefix": "vibenode", "keepalive": 30, "timeout_s": 5},
    "tls": {"ca": "ca.pem", "cert": "client.pem"},
    "sampling": {"rate": 3200, "range_g": 16, "window": 2048, "interval_s": 5},
    "board": {"name": "host"},
    "portal": {"timeout_s": 300, "offline_s": 900},
}

# the other sections: every key typed and range-checked by the tables in vibenode/cfgspec.py
OPEN_SECTIONS = ("sensors", "features", "machine", "bearing", "alarms", "reporting", "store", "link", "ntp",
                 "power", "ha", "sparkplug", "baseline")
KNOWN = ("node_id", "name", "site", "wifi", "mqtt", "tls", "sampling", "board", "portal") + OPEN_SECTIONS
SECRET_KEYS = ("wifi", "mqtt", "client_key", "portal_psk")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
RANGES_G = (2, 4, 8, 16)
# sampling limits (config and the `set` command): s between windows (below 0.1 s no time is left
# for the link between windows), samples per window (a power of two)
INTERVAL_S = (0.1, 86400)
WINDOW = (64, 4096)
MAX_NETWORKS = 5

# what load() found, for the node's status topic (never holds a secret value)
state = {"source": None, "error": None, "warnings": []}


class ConfigError(ValueError):
    pass


class Unprovisioned(ConfigError):
    pass


def status():
    st = {"source": state["source"]}
    for k in ("error", "warnings"):
        if state[k]:
            st[k] = list(state[k]) if k == "warnings" else state[k]
    return st


# ---- field checks -------------------------------------------------------------------------
def _fail(field, msg):
    raise ConfigError("%s: %s" % (field, msg))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return (isinstance(v, (int, float))) and not isinstance(v, bool)


def _obj(v, field):
    if not isinstance(v, dict):
        _fail(field, "must be an object")
    return v


def ident(v):
    """A name that is safe as an MQTT topic level, a certificate CN and an AP name part."""
    if not isinstance(v, str) or not 1 <= len(v) <= 32:
        return False
    for i, ch in enumerate(v):
        if not ("a" <= ch <= "z" or "A" <= ch <= "Z" or "0" <= ch <= "9" or (i and ch in "-_")):
            return False
    return True


def _ident(v, field):
    if not ident(v):
        _fail(field, "1-32 letters, digits, '-' or '_' (starting with a letter or digit), got %r" % (v,))
    return v


def _text(v, field, lo, hi, secret=False):
    if not isinstance(v, str):
        _fail(field, "must be a string")
    n = len(v)
    if n < lo or n > hi:
        if secret:
            _fail(field, "must be %d to %d characters (value not shown)" % (lo, hi))
        _fail(field, "must be %d to %d characters, got %d" % (lo, hi, n))
    for ch in v:
        if ord(ch) < 32 or ord(ch) == 127:
            _fail(field, "must not contain control characters" + (" (value not shown)" if secret else ""))
    return v


def _int(v, field, lo, hi):
    if not _is_int(v) or v < lo or v > hi:
        _fail(field, "an integer from %d to %d, got %r" % (lo, hi, v))
    return v


def _num(v, field, lo, hi):
    if not _is_num(v) or not lo <= v <= hi:  # (also refuses NaN)
        _fail(field, "a number from %s to %s, got %r" % (lo, hi, v))
    return v


def _fname(v, field):
    if not isinstance(v, str) or not 1 <= len(v) <= 64 or "/" in v or "\\" in v or v.startswith("."):
        _fail(field, "a plain file name on the node (no '/', not hidden), got %r" % (v,))
    return v


def _unknown(d, known, field, warnings):
    for k in d:
        if k not in known:
            warnings.append("%s%s: unknown key, ignored" % (field + "." if field else "", k))


def _copy(v):
    if isinstance(v, dict):
        return {k: _copy(v[k]) for k in v}
    return [_copy(x) for x in v] if isinstance(v, list) else v


def _merge(base, over):
    """A new dict: base with over on top, nested dicts merged; shares nothing with either, so
    merging secrets into the result never writes them into the caller's raw config."""
    out = _copy(base)
    for k in over:
        v = over[k]
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            v = _merge(out[k], v)
        out[k] = _copy(v)
    return out


def is_loopback(host):
    return host in LOOPBACK


# ---- the schema ---------------------------------------------------------------------------
def check(raw, secrets=None, exists=None, warnings=None):
    """Validate a raw config (as read from config.json) and its secrets; return the full config
    with defaults and secrets merged. `exists(name)` (optional) checks that a file is on the node.
    Raises ConfigError("<field>: ...") on the first problem."""
    if warnings is None:
        warnings = []
    _obj(raw, "config")
    _unknown(raw, KNOWN, "", warnings)
    for k in ("mqtt", "tls", "wifi", "sampling", "board", "portal") + OPEN_SECTIONS:
        if k in raw and raw[k] is not None:
            _obj(raw[k], k)
    cfg = _merge(DEFAULTS, raw)
    sec = {} if secrets is None else _obj(secrets, "secrets")

    # identity
    if cfg["node_id"] is None:
        _fail("node_id", "required")
    _ident(cfg["node_id"], "node_id")
    if cfg["name"] is not None:
        _text(cfg["name"], "name", 1, 64)
    _ident(cfg["site"], "site")

    # broker
    m = cfg["mqtt"]
    _unknown(m, ("host", "port", "prefix", "keepalive", "timeout_s", "client_id"), "mqtt", warnings)
    for k in ("user", "password"):
        if k in raw.get("mqtt", {}):
            _fail("mqtt." + k, "credentials belong in secrets.json (\"mqtt\": {\"%s\": ...}), not config.json" % k)
    if m["host"] is None:
        _fail("mqtt.host", "required (the broker's DNS name as in its certificate, or an address)")
    h = _text(m["host"], "mqtt.host", 1, 253)
    if " " in h or "/" in h:
        _fail("mqtt.host", "a host name or address, got %r" % (h,))
    _ident(m["prefix"], "mqtt.prefix")
    _int(m["keepalive"], "mqtt.keepalive", 0, 65535)
    _num(m["timeout_s"], "mqtt.timeout_s", 0.1, 120)
    if "client_id" in m:
        _ident(m["client_id"], "mqtt.client_id")

    # transport security: TLS unless explicitly disabled; default off only for a loopback broker
    t = cfg["tls"]
    _unknown(t, ("enabled", "ca", "cert"), "tls", warnings)
    if "enabled" not in t:
        t["enabled"] = not is_loopback(h)
    if not isinstance(t["enabled"], bool):
        _fail("tls.enabled", "true or false, got %r" % (t["enabled"],))
    if "port" not in m:
        m["port"] = 8883 if t["enabled"] else 1883
    _int(m["port"], "mqtt.port", 1, 65535)
    if t["enabled"]:
        _fname(t["ca"], "tls.ca")
        if exists is not None and not exists(t["ca"]):
            _fail("tls.ca", "file %s not on the node" % t["ca"])
        if t["cert"] is not None:
            _fname(t["cert"], "tls.cert")
            if exists is not None and not exists(t["cert"]):
                _fail("tls.cert", "file %s not on the node" % t["cert"])
    elif not is_loopback(h):
        warnings.append("tls.enabled: false: MQTT to %s in plaintext" % h)

    # measurement
    s = cfg["sampling"]
    _int(s["rate"], "sampling.rate", 1, 26667)
    if s["range_g"] not in RANGES_G or not _is_int(s["range_g"]):
        _fail("sampling.range_g", "one of 2, 4, 8, 16, got %r" % (s["range_g"],))
    n = s["window"]
    if not _is_int(n) or n < WINDOW[0] or n > WINDOW[1] or n & (n - 1):
        _fail("sampling.window", "a power of two from %d to %d, got %r" % (WINDOW[0], WINDOW[1], n))
    _num(s["interval_s"], "sampling.interval_s", INTERVAL_S[0], INTERVAL_S[1])
    b = cfg["board"]
    if not isinstance(b.get("name"), str) or not b["name"]:
        _fail("board.name", "required, the board module's name")

    # wifi, portal and the OPEN_SECTIONS: by their tables (cfgspec)
    sections(cfg, warnings)
    nets = cfg["wifi"]["networks"]
    seen = []
    for i, n in enumerate(nets):
        if n["ssid"] in seen:
            _fail("wifi.networks[%d].ssid" % i, "network %r listed twice" % n["ssid"])
        seen.append(n["ssid"])


    # secrets
    _unknown(sec, SECRET_KEYS, "secrets", warnings)
    sw = _obj(sec.get("wifi", {}), "secrets.wifi")
    for ssid in sw:
        if ssid not in seen:
            warnings.append("secrets.wifi: a passphrase for a network not in wifi.networks, ignored")
        _text(sw[ssid], "secrets.wifi[%s]" % ssid, 8, 63, secret=True)
    for i, nw in enumerate(nets):
        if nw.get("open"):
            nw["psk"] = None
        elif nw["ssid"] in sw:
            nw["psk"] = sw[nw["ssid"]]
        else:
            _fail("secrets.wifi", "no passphrase for wifi.networks[%d] %r (or set \"open\": true)" % (i, nw["ssid"]))
    sm = _obj(sec.get("mqtt", {}), "secrets.mqtt")
    _unknown(sm, ("user", "password"), "secrets.mqtt", warnings)
    if "password" in sm and "user" not in sm:
        _fail("secrets.mqtt.user", "required with secrets.mqtt.password")
    if "user" in sm:
        m["user"] = _text(sm["user"], "secrets.mqtt.user", 1, 64)
        m["password"] = _text(sm.get("password", ""), "secrets.mqtt.password", 0, 256, secret=True)
    key = sec.get("client_key")
    if key is not None:
        _text(key.replace("\n", " ").replace("\r", " ") if isinstance(key, str) else key,
              "secrets.client_key", 100, 8192, secret=True)
        if not (key.startswith("-----BEGIN ") and "PRIVATE KEY-----" in key):
            _fail("secrets.client_key", "a PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    if t["enabled"] and t["cert"] is not None and key is None:
        _fail("secrets.client_key", "required: tls.cert %s needs its private key" % t["cert"])
    t["key"] = key
    psk = sec.get("portal_psk")
    if psk is not None:
        _text(psk, "secrets.portal_psk", 8, 63, secret=True)
    cfg["portal"]["psk"] = psk
    return cfg


def sections(cfg, warnings):
    """The OPEN_SECTIONS by their tables (vibenode/cfgspec.py, loaded for the check, then dropped)."""
    from vibenode import cfgspec, drop
    try:
        cfgspec.check(cfg, warnings)
    finally:
        cfgspec = None
        drop("vibenode.cfgspec")


# ---- files --------------------------------------------------------------------------------
def exists(name):
    try:
        os.stat(name)
        return True
    except OSError:
        return False


def _read(name):
    """bytes of a file, or None if absent; ConfigError if unreadable or too big."""
    try:
        size = os.stat(name)[6]
    except OSError:
        return None
    if size > MAX_FILE:
        raise ConfigError("%s: larger than %d bytes" % (name, MAX_FILE))
    try:
        with open(name, "rb") as f:
            data = f.read(size)  # exactly the file: no 16 KB buffer in a tight heap
    except OSError:
        return None
    return data


def _parse(name, data):
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeError):
        raise ConfigError("%s: not valid JSON (corrupt or truncated)" % name)
    if not isinstance(obj, dict):
        raise ConfigError("%s: must hold a JSON object" % name)
    return obj


def _write(name, data):
    from store import atomic  # .new + rename: after a power cut the old or the new content
    atomic.write(name, data, keep=False)  # (the last good copy is GOOD / SECRETS_GOOD)


def _safe_read(name):
    try:
        return _read(name)
    except ConfigError:
        return None


# ---- which config to run on: vibenode/cfgload.py, loaded for the call ---------------------
def _cfgload(fn, *args):
    from vibenode import cfgload, drop
    try:
        return getattr(cfgload, fn)(*args)
    finally:
        cfgload = None
        drop("vibenode.cfgload")


def load(bad=None):
    """The config to run with: config.json + secrets.json if they validate (and `bad` is None:
    else it says why config.json failed this boot), else the last good pair (state says why).
    Raises Unprovisioned when there is no config at all, ConfigError when nothing usable exists;
    either way the node must not talk MQTT."""
    return _cfgload("load", bad)


def fallback(e):
    """The boot raised on config.json's content (e): the last good config for this boot, with
    config.json marked bad (status says why); None when there is none."""
    return _cfgload("fallback", e)


def promote():
    """config.json + secrets.json become the last good pair if they validate (the node itself
    calls vibenode.lastgood.promote() after its first published reading: no validator in RAM)."""
    return _cfgload("promote")


def save(raw, secrets=None):
    """Validate and store a new config (and secrets, if given) atomically; it becomes last good
    once the node ran on it (promote()). Raises ConfigError without touching any file."""
    given = secrets is not None
    sdata = None
    if not given:
        sdata = _safe_read(SECRETS)
        secrets = None if sdata is None else _parse(SECRETS, sdata)
    check(raw, secrets, exists, [])  # first: the files' text is not made while cfgspec is loaded
    cdata = json.dumps(raw).encode()  # (check shares nothing with raw and secrets: _merge)
    if given:
        sdata = json.dumps(secrets).encode()
    if sdata is not None:
        _write(SECRETS, sdata)
    _write(PATH, cdata)
