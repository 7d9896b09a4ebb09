# An application update under a power cut at every block write (tests/test_ota_powercut.py):
# littlefs on tests/mpy/powercut.py's RAM block device (the k-th write torn, every later one
# failing), the real lib/ota session and staging code, the release's chunks answered in-process
# (the network is not what is tested here). After each cut the image is mounted again (a reboot)
# and judged: the pointer must name the old app with its files intact, or the new app with every
# file as signed; then the update resumes (or starts again) and must complete.
import binascii
import hashlib
import json
import os
import sys

import appsel
from harness import main
from ota import session
from powercut import BS, RAMBdev

A = {}
NB = 256  # 64 KB of flash (the update's headroom check wants 16 KB free beyond the files)


class Bdev(RAMBdev):
    def __init__(self, data=None, nb=NB):
        RAMBdev.__init__(self, data if data is not None else b"\xff" * (BS * nb))
        self.nb = len(self.data) // BS

    def ioctl(self, op, arg):
        if op == 4:
            return self.nb
        return RAMBdev.ioctl(self, op, arg)


class Topics:
    ota_get = "t/ota/get"
    ota_data = "t/ota/data"


class Link:
    up = True

    def __init__(self, io):
        self.io = io

    def publish(self, topic, payload, qos=0):
        req = json.loads(payload)
        f, o, n = req["f"], req["o"], req["n"]
        data = A["man"] if f == "m" else A["sig"] if f == "s" else A["files"][f - 1][1]
        head = {"v": req["v"], "f": f, "o": o, "t": len(data)}
        self.io.s.take(Topics.ota_data, json.dumps(head).encode() + b"\n" + data[o:o + n])
        return True


class Clock:
    def ticks_ms(self):
        import time
        return time.ticks_ms()

    def ticks_diff(self, a, b):
        import time
        return time.ticks_diff(a, b)


class IO:
    def __init__(self):
        self.link = Link(self)
        self.clock = Clock()
        self.topics = Topics()
        self.events = []
        self.s = None

    def event(self, fields):
        self.events.append(fields["state"])
        return True

    def firmware(self, size):
        raise OSError(19)


def run(resume):
    io = IO()
    s = session.Session.resume(io, "host") if resume else None
    if s is None:
        s = session.Session.start(io, "host", "u1", A["v"])
    s.io = io
    io.s = s
    for _ in range(10000):
        if not s.service():
            break
    return s, io


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return binascii.hexlify(h.digest()).decode()


def judge():
    """Which app boots, and whether its files are all as they must be."""
    p = appsel._read() or {"active": ""}
    d = p.get("active")
    if d == "app_a":
        ok = all(_sha("app_a/" + path) == h for path, h in A["old"])
    elif d == "app_b":
        ok = all(_sha("app_b/" + path) == hashlib_hex(data) for path, data in A["files"])
    else:
        ok = False
    return d, ok


def hashlib_hex(data):
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def fresh(nb=NB):
    bd = Bdev(nb=nb)
    os.VfsLfs2.mkfs(bd)
    os.mount(os.VfsLfs2(bd), "/m")
    os.chdir("/m")
    with open("ota.pub", "wb") as f:
        f.write(A["pub"])
    for path, data in A["oldfiles"]:
        from ota import stage
        stage.makedirs("app_a/" + path)
        with open("app_a/" + path, "wb") as f:
            f.write(data)
    appsel._write({"active": "app_a", "prev": ""})
    os.chdir("/")
    os.umount("/m")
    return bytes(bd.data)


def trial(base, cut):
    bd = Bdev(base)
    os.mount(os.VfsLfs2(bd), "/m")
    os.chdir("/m")
    bd.cut = cut
    out = {"cut": cut}
    try:
        s, io = run(False)
        out["error"] = s.error
        out["events"] = io.events
    except OSError as e:
        out["raised"] = repr(e)
    out["dead"] = bd.dead
    out["writes"] = bd.writes
    os.chdir("/")
    try:
        os.umount("/m")
    except Exception:
        pass
    # the reboot
    bd2 = Bdev(bd.data)
    try:
        os.mount(os.VfsLfs2(bd2), "/m")
    except Exception as e:
        out["mount"] = repr(e)
        return out
    os.chdir("/m")
    out["boots"], out["intact"] = judge()
    # resume (or start again when the update had not begun or was abandoned), to the end
    if out["boots"] == "app_a":
        s, io = run(True)
        if s.error is not None or not s.done:
            s, io = run(False)
        out["after"] = judge()
        out["after_error"] = s.error
    else:
        out["after"] = judge()
    os.chdir("/")
    os.umount("/m")
    return out


def _load(args):
    A["v"] = args["v"]
    A["pub"] = binascii.unhexlify(args["pub"])
    A["man"] = binascii.unhexlify(args["man"])
    A["sig"] = binascii.unhexlify(args["sig"])
    A["files"] = [(p, binascii.unhexlify(d)) for p, d in args["files"]]
    A["oldfiles"] = [(p, binascii.unhexlify(d)) for p, d in args["old"]]
    A["old"] = [(p, hashlib_hex(d)) for p, d in A["oldfiles"]]


def full_flash(args):
    """A 24 KB flash: the update is refused before a file is written, the old app stays."""
    _load(args)
    bd = Bdev(fresh(96))
    os.mount(os.VfsLfs2(bd), "/m")
    os.chdir("/m")
    s, io = run(False)
    out = {"error": s.error, "events": io.events, "boots": judge(), "staged": "app_b" in os.listdir("/m")}
    os.chdir("/")
    os.umount("/m")
    return out


def cuts(args):
    _load(args)
    base = fresh()
    full = trial(base, None)
    res = [full]
    step = args.get("step", 1)
    for k in range(1, full["writes"] + 1, step):
        res.append(trial(base, k))
    return res


if __name__ == "__main__":
    main(globals())
