# Node configuration: /config.json on the device filesystem (the working directory on the
# host board). Defaults are merged under what the file gives.
import json

PATH = "config.json"

DEFAULTS = {
    "node_id": None,
    "site": "default",
    "mqtt": {"host": "127.0.0.1", "port": 1883, "prefix": "vibenode", "keepalive": 30, "timeout_s": 5},
    "sampling": {"rate": 3200, "range_g": 16, "window": 2048, "interval_s": 5},
    "board": {"name": "host"},
}


class ConfigError(ValueError):
    pass


def _merge(base, over):
    out = {}
    for k in base:
        out[k] = base[k]
    for k in over:
        v = over[k]
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            v = _merge(out[k], v)
        out[k] = v
    return out


def load(path=PATH):
    try:
        with open(path) as f:
            raw = json.load(f)
    except OSError:
        raise ConfigError("no config file %s (node not provisioned)" % path)
    except ValueError as e:
        raise ConfigError("config %s is not valid JSON: %s" % (path, e))
    if not isinstance(raw, dict):
        raise ConfigError("config must be a JSON object")
    cfg = _merge(DEFAULTS, raw)
    check(cfg)
    return cfg


def check(cfg):
    nid = cfg.get("node_id")
    if not isinstance(nid, str) or not nid:
        raise ConfigError("node_id: required, a non-empty string")
    s = cfg["sampling"]
    n = s.get("window")
    if not isinstance(n, int) or n < 64 or n > 4096 or n & (n - 1):
        raise ConfigError("sampling.window: a power of two from 64 to 4096, got %r" % (n,))
    iv = s.get("interval_s")
    if not isinstance(iv, (int, float)) or iv <= 0:
        raise ConfigError("sampling.interval_s: a positive number, got %r" % (iv,))
    m = cfg["mqtt"]
    if not isinstance(m.get("host"), str) or not isinstance(m.get("port"), int):
        raise ConfigError("mqtt.host (string) and mqtt.port (integer) are required")
