# The node's config on MicroPython (tests/test_config.py): check() on cases from a JSON file; save,
# load and the last good copy through corruption and a power cut at every write position (run in
# an empty directory).
import json
import os

from vibenode import config
from store import atomic  # config's files are written by store.atomic


def check(args):
    out = []
    for c in json.loads(open(args["file"]).read()):
        files = c["files"]
        w = []
        before = json.dumps(c["cfg"]) + json.dumps(c["sec"])
        try:
            cfg = config.check(c["cfg"], c["sec"], lambda n: n in files, w)
            assert json.dumps(c["cfg"]) + json.dumps(c["sec"]) == before, "check() changed its input"
            out.append({"ok": True, "port": cfg["mqtt"]["port"], "tls": cfg["tls"]["enabled"], "warnings": w})
        except config.ConfigError as e:
            out.append({"ok": False, "error": str(e)})
    return out


real_open = open


def wipe():
    for n in os.listdir("."):
        os.remove(n)


def put(name, data):
    f = real_open(name, "wb")
    f.write(data)
    f.close()


def who(cfg):
    return cfg["wifi"]["networks"][0]["ssid"] if cfg["wifi"]["networks"] else None


# a power cut after budget[0] more bytes written (config.open replaced by cut_open while saving)
class Cut(Exception):
    pass


budget = [0]


class CutFile:
    def __init__(self, f):
        self.f = f

    def write(self, data):
        n = budget[0]
        if n < len(data):
            self.f.write(data[:n])
            self.f.close()
            budget[0] = 0
            raise Cut()
        budget[0] -= len(data)
        return self.f.write(data)

    def flush(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.f.close()


def cut_open(name, mode="r"):
    f = real_open(name, mode)
    return CutFile(f) if "w" in mode else f


def save_load_powercut(args):
    A, SA, B, SB = args["A"], args["SA"], args["B"], args["SB"]
    log = []

    # 1. save + load, good copy kept; corrupt / invalid / missing
    wipe()
    config.save(A, SA)
    c = config.load()
    log.append(["loaded", sorted(os.listdir("."))])  # not last good before the node ran on it
    config.promote()  # (the node's first published reading)
    log.append(["saved", who(c), config.status(), sorted(os.listdir("."))])
    raw = real_open("config.json", "rb").read()
    put("config.json", raw[: len(raw) // 2])
    c = config.load()
    log.append(["truncated", who(c), config.status()])
    put("config.json", b"\xff\x00garbage")
    c = config.load()
    log.append(["garbage", who(c), config.status()])
    bad = dict(A)
    bad["sampling"] = {"window": 1000}
    put("config.json", json.dumps(bad).encode())
    c = config.load()
    log.append(["invalid", who(c), config.status()])
    put("secrets.json", b"{\"wifi\": {\"plant\": \"short\"}}")
    put("config.json", raw)
    c = config.load()
    log.append(["bad_secrets", who(c), config.status()])
    try:
        config.save(bad, SA)
        log.append(["save_invalid", "saved!"])
    except config.ConfigError as e:
        log.append(["save_invalid", str(e), real_open("config.json", "rb").read() == raw])
    os.remove("config.json")
    os.remove("config.good.json")
    try:
        config.load()
        log.append(["none", "loaded!"])
    except config.Unprovisioned as e:
        log.append(["none", "unprovisioned", str(e)])
    put("config.json", json.dumps(bad).encode())
    try:
        config.load()
        log.append(["invalid_no_fallback", "loaded!"])
    except config.Unprovisioned:
        log.append(["invalid_no_fallback", "unprovisioned?"])
    except config.ConfigError as e:
        log.append(["invalid_no_fallback", "error", str(e)])

    # 2. power cut at every write position while saving B over A
    outcomes = {}
    k = 0
    total = None
    while True:
        wipe()
        config.save(A, SA)
        config.load()
        config.promote()  # A is current and last good
        budget[0] = k
        config.open = atomic.open = cut_open
        try:
            config.save(B, SB)
            done = True
        except Cut:
            done = False
        config.open = atomic.open = real_open
        try:
            c = config.load()  # the reboot after the power cut
            w = who(c) + ("/fallback" if config.status().get("error") else "")
        except config.ConfigError as e:
            w = "BRICKED: " + str(e)
        outcomes[w] = outcomes.get(w, 0) + 1
        if done:
            total = k
            break
        k += 7 if k > 64 else 1
    return {"log": log, "outcomes": outcomes, "cut_points": k, "total": total}


if __name__ == "__main__":
    from harness import main
    main(globals())
