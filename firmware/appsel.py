# Which application tree boots (the A/B switch of lib/ota/stage.py), before any of it loads.
# Deliberately self-contained and never replaced by an application update: it must work with
# whatever the app directories hold.
#
#   app.json {"active": "app_b", "prev": "", "trial": 1, "boots": 0, "max_boots": 3, ...}
#
# The active tree's lib goes first on sys.path. An app on probation gets max_boots boots; at
# the next one the pointer goes back to "prev" with the reason (the node reports it). Reads
# app.json, else its last good copy app.json.bak; writes as store/atomic.py does (.new, .bak).
import json
import os
import sys

POINTER = "app.json"


def _read():
    for p in (POINTER, POINTER + ".bak"):
        try:
            with open(p) as f:
                d = json.load(f)
            if isinstance(d, dict):
                return d
        except Exception:
            pass
    return None


def _mv(src, dst):
    try:
        os.rename(src, dst)
    except OSError:  # FAT: no rename over an existing file
        os.remove(dst)
        os.rename(src, dst)


def _write(d):
    with open(POINTER + ".new", "w") as f:
        f.write(json.dumps(d))
    try:
        os.stat(POINTER)
        _mv(POINTER, POINTER + ".bak")
    except OSError:
        pass
    _mv(POINTER + ".new", POINTER)


def select():
    """Put the active app first on sys.path; returns its directory ("" = the factory app)."""
    p = _read()
    for e in list(sys.path):
        if e.startswith("app_") or e.startswith("/app_"):
            sys.path.remove(e)
    if p is None:
        return ""
    if p.get("trial"):
        p["boots"] = p.get("boots", 0) + 1
        if p["boots"] > p.get("max_boots", 3):
            p = {"active": p.get("prev", ""), "prev": "",
                 "rolled_back": {"version": p.get("version"),
                                 "why": "no healthy reading in %d boots" % p.get("max_boots", 3)}}
        _write(p)
    d = p.get("active") or ""
    if d:
        sys.path.insert(0, d + "/lib")
    return d
