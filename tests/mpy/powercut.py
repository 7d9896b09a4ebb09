# Power cut at every block write: littlefs (VfsLfs2) on a RAM block device whose writes stop
# at write k (the k-th write is torn: only its first half lands). For every k over a run of the
# queue + config workload, the image is mounted again (a reboot) and checked.
# Prints one line: RESULT {...} with the per-k findings for the pytest side to judge.
import json
import micropython
import os
import sys

from store import atomic
from store.queue import Queue
from vibenode import config


def node_cfg(v):
    """A valid node config whose sampling interval encodes the version v (v + 100 seconds)."""
    return {"node_id": "pc-1", "site": "lab", "mqtt": {"host": "127.0.0.1", "port": 1883},
            "sampling": {"interval_s": v + 100, "window": 256}}

BS = 256
NBLK = 96


# The block device runs with the heap locked (nothing may be allocated there, not even an
# exception), so the cut is an I/O error returned for the torn write and every write after it:
# littlefs stops with OSError(EIO), as the CPU would stop, and the image is frozen.
EIO = -5


@micropython.viper
def _copy(dst, doff: int, src, soff: int, n: int):
    d = ptr8(dst)
    s = ptr8(src)
    for i in range(n):
        d[doff + i] = s[soff + i]


@micropython.viper
def _fill(dst, doff: int, v: int, n: int):
    d = ptr8(dst)
    for i in range(n):
        d[doff + i] = v


class RAMBdev:
    def __init__(self, data=None):
        self.data = bytearray(data) if data is not None else bytearray(b"\xff" * (BS * NBLK))
        self.writes = 0
        self.cut = None  # stop at this write number
        self.dead = False

    def _tick(self):
        self.writes += 1
        if self.cut is not None and self.writes >= self.cut:
            self.dead = True
        return self.dead

    def readblocks(self, b, buf, off=0):
        _copy(buf, 0, self.data, b * BS + off, len(buf))

    def writeblocks(self, b, buf, off=0):
        a = b * BS + off
        n = len(buf)
        if self._tick():
            if self.writes == self.cut:
                _copy(self.data, a, buf, 0, n // 2)  # torn write: only the first half lands
            return EIO
        _copy(self.data, a, buf, 0, n)
        return 0

    def ioctl(self, op, arg):
        if op == 4:
            return NBLK
        if op == 5:
            return BS
        if op == 6:  # erase
            if self._tick():
                if self.writes == self.cut:
                    _fill(self.data, arg * BS, 0xFF, BS // 2)  # torn erase
                return EIO
            _fill(self.data, arg * BS, 0xFF, BS)
            return 0
        return 0


def payload(i):
    # ~ a reading's size class, varying a little
    return ("{\"seq\": %d, \"x\": {\"rms\": %d.%03d}, \"pad\": \"%s\"}" % (i, i % 7, i % 1000, "p" * (i % 23))).encode()


CAP = 12


def workload(log):
    """The run a node does: a queue from a previous boot is reopened, records are pushed
    (each flushed when push returns), some delivered (peek+pop), config saved now and then.
    `log` records what was acknowledged before any cut."""
    q = Queue("/m/q", capacity=CAP, seg_records=4, checkpoint=3)
    log["opened"] = 1
    i = log["next"]
    model = log["model"]  # what must be queued: flushed, not delivered, not dropped (capacity)
    for step in range(36):
        log["pushing"] = i
        q.push(0, payload(i))
        log["pushing"] = None
        log["flushed"] = i
        model.append(i)
        if len(model) > CAP:
            model.pop(0)
        i += 1
        if step % 3 == 2:
            r = q.peek()
            if r is not None:
                got = json.loads(bytes(r[1]))["seq"]
                log["popped"].append(got)
                if got != model[0]:
                    log["order_error"] = [got, model[0]]
                log["popping"] = got
                if not q.pop():  # the checkpoint write failed (the cut): reported, not raised
                    raise OSError(q.error)
                log["popping"] = None
                model.pop(0)
        if step % 7 == 3:  # the node's config, saved as a command does (config.save)
            log["cfg_try"] = step
            config.save(node_cfg(step))
            log["cfg_done"] = step
        if step % 5 == 1:  # a small state file through store.atomic (as seq.json, boot.json)
            log["st_try"] = step
            atomic.write_json("/m/state.json", {"v": step})
            log["st_done"] = step
    log["end"] = 1
    return q


def fresh():
    bd = RAMBdev()
    os.VfsLfs2.mkfs(bd)
    os.mount(os.VfsLfs2(bd), "/m")
    os.chdir("/m")
    config.save(node_cfg(-1))
    atomic.write_json("/m/state.json", {"v": -1})
    # a previous boot left 5 records queued (ids 1..5)
    q = Queue("/m/q", capacity=CAP, seg_records=4, checkpoint=3)
    for i in range(1, 6):
        q.push(0, payload(i))
    os.chdir("/")
    os.umount("/m")
    return bd


def recover(image):
    bd = RAMBdev(image)
    try:
        os.mount(os.VfsLfs2(bd), "/m")
    except Exception as e:
        return {"mount": "failed: %r" % (e,)}
    out = {"mount": "ok"}
    try:
        os.chdir("/m")
        try:
            cfg = config.load()
            out["cfg"] = int(cfg["sampling"]["interval_s"]) - 100
        except Exception as e:
            out["cfg"] = "load failed: %r" % (e,)
        st = atomic.read_json("/m/state.json")
        out["st"] = st.get("v") if st else None
        q = Queue("/m/q", capacity=CAP, seg_records=4, checkpoint=3)
        ids = []
        while True:
            r = q.peek()
            if r is None:
                break
            ids.append(json.loads(bytes(r[1]))["seq"])
            q.pop()
        out["ids"] = ids
        out["corrupt"] = q.corrupt
        # and the queue keeps working after the reboot
        q.push(0, payload(999))
        r = q.peek()
        out["after"] = json.loads(bytes(r[1]))["seq"] if r else None
    except Exception as e:
        sys.print_exception(e)
        out["error"] = repr(e)
    os.chdir("/")
    os.umount("/m")
    return out


def trial(base, cut):
    bd = RAMBdev(base)
    os.mount(os.VfsLfs2(bd), "/m")
    bd.cut = cut
    os.chdir("/m")
    log = {"next": 6, "flushed": 5, "popped": [], "cfg_try": None, "cfg_done": -1, "st_try": None, "st_done": -1,
           "opened": 0, "end": 0,
           "model": [1, 2, 3, 4, 5], "pushing": None, "popping": None}
    cutdone = False
    try:
        workload(log)
    except OSError:
        if not bd.dead:
            raise
        cutdone = True
    writes = bd.writes
    os.chdir("/")
    try:
        os.umount("/m")
    except Exception:
        pass
    res = recover(bd.data)
    res["log"] = log
    res["cut"] = cutdone
    res["writes"] = writes
    return res


def main():
    base = bytes(fresh().data)
    full = trial(base, None)
    total = full["writes"]
    print("TRIAL " + json.dumps(full))
    for k in range(1, total + 1):
        print("TRIAL " + json.dumps(trial(base, k)))
    print("RESULT " + json.dumps({"total_writes": total}))


if __name__ == "__main__":  # (tests/mpy/ota_powercut.py imports the block device)
    main()
