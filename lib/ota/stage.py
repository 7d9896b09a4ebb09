# Staging an update in the inactive application directory and switching to it.
#
#   app.json            the pointer: {"active": "app_b", "prev": "", "version": "0.2.0",
#                        "trial": 1, "boots": 0, "max_boots": 3, "trial_s": 600}
#                        ("" = the factory app, the tree deployed on the default path)
#   app_a/, app_b/      application trees (lib/...); the one the pointer names runs
#
# Files are streamed in small blocks (append, close per block: a power cut loses at most the
# block being written) and hashed on the fly; a file is resumed after a reboot from its length
# on flash (hashed again in 512-byte blocks). The pointer is switched with store.atomic (the
# old app stays active until every file verified), so a power cut at any point boots either the
# old app or the complete, verified new one. firmware/appsel.py reads the pointer at boot.
import os

from micropython import const
from store import atomic

from ota.bundle import OtaError

POINTER = "app.json"
_BLK = const(512)


def pointer():
    return atomic.read_json(POINTER) or {"active": ""}


def staging_dir():
    return "app_b" if pointer().get("active") == "app_a" else "app_a"


def rmtree(d):
    try:
        names = os.listdir(d)
    except OSError:
        return
    for n in names:
        p = d + "/" + n
        try:
            os.remove(p)
        except OSError:
            rmtree(p)
    try:
        os.rmdir(d)
    except OSError:
        pass


def makedirs(path):
    """The directories leading to file `path`."""
    parts = path.split("/")[:-1]
    d = ""
    for p in parts:
        d = d + "/" + p if d else p
        try:
            os.mkdir(d)
        except OSError:
            pass


def free_bytes():
    try:
        s = os.statvfs(".")
        return s[0] * s[4]
    except Exception:
        return None


def check_space(need):
    free = free_bytes()
    if free is not None and free < need + 16384:  # headroom for the queue and the pointer
        raise OtaError("flash full: the update needs %d bytes, %d free" % (need, free))


def length(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def hash_file(path, n=None):
    """sha256 object over the first n bytes of path (all when None), read in small blocks."""
    import hashlib
    h = hashlib.sha256()
    buf = bytearray(_BLK)
    mv = memoryview(buf)
    left = length(path) if n is None else n
    try:
        with open(path, "rb") as f:
            while left > 0:
                k = f.readinto(mv[:min(_BLK, left)])
                if not k:
                    break
                h.update(mv[:k])
                left -= k
    except OSError:
        pass
    return h


def append(path, data):
    try:
        with open(path, "ab") as f:
            if f.write(data) != len(data):
                raise OSError(28)
    except OSError as e:
        raise OtaError("flash: %s writing %s" % (atomic.describe(e), path))


def switch(d, version, max_boots=3, trial_s=600):
    """Make d the active app, on probation; the running app becomes the way back."""
    cur = pointer()
    atomic.write_json(POINTER, {"active": d, "prev": cur.get("active", ""), "version": version, "trial": 1,
                                "boots": 0, "max_boots": max_boots, "trial_s": trial_s})
