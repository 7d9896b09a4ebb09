# The store on the unix port's filesystem (tests/test_store_queue.py): run in an empty directory.
import json
import os

from store import atomic
from store.queue import Queue
from store.seqno import SeqCounter


def queue(args):
    os.mkdir("fs")
    os.chdir("fs")
    out = {}
    q = Queue("q", capacity=50, seg_records=8, checkpoint=4)
    for i in range(1, 31):
        q.push(i % 2, b'{"i": %d}' % i)
    got = []
    for _ in range(10):
        k, p = q.peek()
        got.append([k, json.loads(bytes(p))["i"]])
        q.pop()
    out["first10"] = got
    q.save_head()
    # a reboot: reopen, the rest comes back in order, no duplicates after the checkpoint
    q = Queue("q", capacity=50, seg_records=8, checkpoint=4)
    out["len_after_reopen"] = len(q)
    for i in range(31, 41):
        q.push(0, b'{"i": %d}' % i)
    rest = []
    while len(q):
        k, p = q.peek()
        rest.append(json.loads(bytes(p))["i"])
        q.pop()
    out["rest"] = rest
    out["files_left"] = sorted(f for f in os.listdir("q") if f.isdigit())
    # capacity: the oldest are dropped and counted, the count survives a reboot
    q = Queue("q2", capacity=20, seg_records=8, checkpoint=4)
    for i in range(1, 101):
        q.push(0, b'{"i": %d}' % i)
    q.save_head()
    q = Queue("q2", capacity=20, seg_records=8, checkpoint=4)
    out["dropped"] = q.dropped
    ids = []
    while len(q):
        k, p = q.peek()
        ids.append(json.loads(bytes(p))["i"])
        q.pop()
    out["kept"] = ids
    # a pop not yet checkpointed comes back after a reboot (at-least-once), at most `checkpoint` of them
    q = Queue("q3", capacity=100, seg_records=8, checkpoint=4)
    for i in range(1, 21):
        q.push(0, b'{"i": %d}' % i)
    for _ in range(7):
        q.peek()
        q.pop()
    q = Queue("q3", capacity=100, seg_records=8, checkpoint=4)
    k, p = q.peek()
    out["resume_at"] = json.loads(bytes(p))["i"]
    out["resume_len"] = len(q)
    # a torn tail record (power cut mid-append on a filesystem without atomic appends) ends its
    # segment; everything before it is kept, and new records go to a new segment
    q = Queue("q4", capacity=100, seg_records=8, checkpoint=4)
    for i in range(1, 6):
        q.push(0, b'{"i": %d}' % i)
    seg = sorted(f for f in os.listdir("q4") if f.isdigit())[-1]
    with open("q4/" + seg, "ab") as f:
        f.write(b"\xa5\x00\x40\x00\x00\x00\x00\x00{\"i\": 6")   # header promises 64 bytes, 7 arrive
    q = Queue("q4", capacity=100, seg_records=8, checkpoint=4)
    q.push(0, b'{"i": 7}')
    ids = []
    while len(q):
        k, p = q.peek()
        ids.append(json.loads(bytes(p))["i"])
        q.pop()
    out["torn"] = ids
    out["torn_corrupt"] = q.corrupt
    return out


def seqno_and_atomic(args):
    os.mkdir("fs")
    os.chdir("fs")
    out = {}
    c = SeqCounter("seq.json", block=100)
    a = [c.take() for _ in range(250)]
    out["a"] = [a[0], a[-1]]
    out["writes"] = c.writes
    # crash: the next boot starts at the reserved limit (a gap of unused numbers, never a reuse)
    c = SeqCounter("seq.json", block=100)
    out["after_crash"] = c.take()
    out["first"] = c.first
    # deliberate restart: exact
    for _ in range(10):
        c.take()
    c.save_exact()
    c = SeqCounter("seq.json", block=100)
    out["after_clean"] = c.take()
    # atomic: a damaged file falls back to the last good copy
    atomic.write_json("x.json", {"v": 1})
    atomic.write_json("x.json", {"v": 2})
    with open("x.json", "w") as f:
        f.write('{"v": ')
    out["fallback"] = atomic.read_json("x.json")
    os.remove("x.json")
    out["missing"] = atomic.read_json("x.json")
    return out


if __name__ == "__main__":
    from harness import main
    main(globals())
