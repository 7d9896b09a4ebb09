# Which config a boot runs on: config.json + secrets.json when they validate, else the last good
# pair (vibenode/lastgood.py), and why (config.state, for the status topic). config.load(),
# config.fallback() and config.promote() (their docs) load this for the call and drop it after:
# the node's other uses of config (a command that saves a setting) do not carry it.
import os

from vibenode.config import (GOOD, PATH, SECRETS, SECRETS_GOOD, ConfigError, Unprovisioned, _parse, _read, check,
                             exists, keep, state)


def _load_pair(cname, sname, warnings):
    cdata = _read(cname)
    if cdata is None:
        raise ConfigError("%s: missing" % cname)
    raw = _parse(cname, cdata)
    sdata = _read(sname)
    sec = None if sdata is None else _parse(sname, sdata)
    return check(raw, sec, exists, warnings), cdata, sdata


def _cleanup():
    for n in (PATH, SECRETS, GOOD, SECRETS_GOOD):
        try:
            os.remove(n + ".new")  # a write cut short by power loss (store.atomic)
        except OSError:
            pass


def promote():
    try:
        _, cdata, sdata = _load_pair(PATH, SECRETS, [])
        keep(cdata, sdata)
        return True
    except (ConfigError, OSError):
        return False


def fallback(e):
    try:
        return load("boot failed on config.json: %s: %s" % (type(e).__name__, e))
    except ConfigError:
        return None


def load(bad=None):
    state["source"] = None
    state["error"] = None
    state["warnings"] = []
    _cleanup()
    warnings = []
    try:
        if bad is not None:  # config.json validated but the boot failed on it (app.py)
            raise ConfigError(bad)
        cfg, _, _ = _load_pair(PATH, SECRETS, warnings)
        state["source"] = PATH
        state["warnings"] = warnings
        return cfg  # last good only once the node ran on it (promote())
    except ConfigError as e:
        first = str(e)
    if not exists(PATH) and not exists(GOOD):
        state["error"] = "not provisioned"
        raise Unprovisioned("no %s: node not provisioned" % PATH)
    warnings = []
    try:
        cfg, _, _ = _load_pair(GOOD, SECRETS_GOOD, warnings)
    except ConfigError as e:
        state["error"] = first
        raise ConfigError("%s (and the last good config is unusable: %s)" % (first, e))
    state["source"] = GOOD
    state["error"] = first
    state["warnings"] = warnings
    return cfg
