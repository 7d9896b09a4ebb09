# The store on a filesystem that fills up: a real filesystem (littlefs2 or FAT, MicroPython's
# own drivers) on a small RAM block device, filled with a ballast file until a write fails with
# ENOSPC, and freed again by removing it. Three runs, each printing RESULT {...} for the pytest
# side (tests/test_store_full.py) to judge; nothing here decides pass or fail.
#   checkpoint  littlefs: records queued, the filesystem fills, replay continues: the queue's
#               checkpoint (head) cannot be written. A reboot while full, then space returns.
#   partial     FAT and littlefs: records pushed until the filesystem is full and some more
#               (they fail), space returns, more records: what comes back on replay, in this
#               boot and after a reboot, against what push acknowledged.
#   seqno       the sequence counter's reservation write on a full filesystem, FAT and littlefs.
# Usage: micropython storefull.py <checkpoint|partial-fat|partial-lfs|seqno-fat|seqno-lfs>
import json
import os
import sys
import vfs

from store.queue import Queue
from store.seqno import SeqCounter


class RAMBdev:
    def __init__(self, bs, nblk):
        self.bs = bs
        self.n = nblk
        self.data = bytearray(bs * nblk)

    def readblocks(self, b, buf, off=0):
        a = b * self.bs + off
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, b, buf, off=0):
        a = b * self.bs + off
        self.data[a:a + len(buf)] = buf

    def ioctl(self, op, arg):
        if op == 4:
            return self.n
        if op == 5:
            return self.bs
        return 0


def mount(kind):
    """littlefs with 256-byte blocks (a small file such as the queue's head is not inlined in
    the directory: it needs a free block, as on a real flash with 4 KB blocks), or FAT."""
    if kind == "lfs":
        bd = RAMBdev(256, 96)
        vfs.VfsLfs2.mkfs(bd)
        vfs.mount(vfs.VfsLfs2(bd), "/m")
    else:
        bd = RAMBdev(512, 128)
        vfs.VfsFat.mkfs(bd)
        vfs.mount(vfs.VfsFat(bd), "/m")
    os.chdir("/m")


def fill():
    """Ballast until nothing more fits (each chunk committed, so removing it frees the space)."""
    n = k = 0
    for sz in (1024, 128, 16, 1):
        while True:
            try:
                with open("/m/ballast%d" % k, "wb") as f:
                    if f.write(b"b" * sz) != sz:
                        raise OSError(28)
            except OSError:
                try:
                    os.remove("/m/ballast%d" % k)
                except OSError:
                    pass
                break
            k += 1
            n += sz
    return n


def free():
    for name in os.listdir("/m"):
        if name.startswith("ballast"):
            os.remove("/m/" + name)


def payload(i):
    return b'{"seq": %d, "pad": "%s"}' % (i, "x" * (40 + i % 50))


def ident(p):
    return json.loads(bytes(p))["seq"]


def attrs(q):
    return {"error": getattr(q, "error", "n/a"), "lost_storage": getattr(q, "lost_storage", "n/a"),
            "unsaved": getattr(q, "unsaved", "n/a"), "corrupt": q.corrupt, "dropped": q.dropped, "len": len(q)}


def replay(q, limit, out):
    """peek/pop up to `limit` records; returns the exception a call raised (a crash), or None."""
    for _ in range(limit):
        try:
            r = q.peek()
            if r is None:
                return None
            out.append(ident(r[1]))
            q.pop()
        except Exception as e:
            return "%s: %s" % (type(e).__name__, e)
    return None


def run_checkpoint():
    mount("lfs")
    res = {}
    q = Queue("/m/q", capacity=100, seg_records=8, checkpoint=4)
    for i in range(1, 21):
        q.push(0, payload(i))
    res["ballast"] = fill()
    full = []
    res["crash_full"] = replay(q, 30, full)
    res["delivered_full"] = full
    res["full"] = attrs(q)
    # a reboot while still full: where does replay resume?
    q2 = Queue("/m/q", capacity=100, seg_records=8, checkpoint=4)
    r = q2.peek()
    res["reboot_resumes_at"] = ident(r[1]) if r else None
    res["reboot_len"] = len(q2)
    q2 = None
    free()
    after = []
    res["crash_after"] = replay(q, 30, after)
    res["delivered_after"] = after
    res["after"] = attrs(q)
    q3 = Queue("/m/q", capacity=100, seg_records=8, checkpoint=4)
    res["reboot2_len"] = len(q3)
    return res


def run_partial(kind):
    mount(kind)
    res = {}
    q = Queue("/m/q", capacity=1000, seg_records=32, checkpoint=16)
    acked, failed, errors = [], [], []
    i = 1
    for _ in range(10):
        q.push(0, payload(i))
        acked.append(i)
        i += 1
    res["ballast"] = fill()
    while len(failed) < 3 and i < 400:
        try:
            q.push(0, payload(i))
            acked.append(i)
        except Exception as e:
            failed.append(i)
            errors.append("%s: %s" % (type(e).__name__, e))
        i += 1
    res["failed"] = failed
    res["errors"] = errors
    res["full"] = attrs(q)
    free()
    for _ in range(5):
        q.push(0, payload(i))
        acked.append(i)
        i += 1
    res["acked"] = acked
    res["after"] = attrs(q)
    # a reboot: everything acknowledged comes back, in order
    q2 = Queue("/m/q", capacity=1000, seg_records=32, checkpoint=16)
    got = []
    res["crash_reboot"] = replay(q2, 1000, got)
    res["replayed_reboot"] = got
    res["reboot"] = attrs(q2)
    return res


def run_seqno(kind):
    mount(kind)
    res = {}
    s = SeqCounter("/m/seq.json", block=5)
    taken = [s.take() for _ in range(3)]
    res["ballast"] = fill()
    crash = None
    try:
        for _ in range(10):  # crosses two reservation boundaries
            taken.append(s.take())
    except Exception as e:
        crash = "%s: %s" % (type(e).__name__, e)
    res["crash_full"] = crash
    res["error_full"] = getattr(s, "error", "n/a")
    free()
    taken.append(s.take())
    res["error_after"] = getattr(s, "error", "n/a")
    res["taken"] = taken
    s2 = SeqCounter("/m/seq.json", block=5)
    res["reboot_next"] = s2.next
    return res


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "checkpoint":
        r = run_checkpoint()
    elif what.startswith("partial-"):
        r = run_partial(what[8:])
    else:
        r = run_seqno(what[6:])
    print("RESULT " + json.dumps(r))
