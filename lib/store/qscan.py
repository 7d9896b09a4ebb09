# The store-and-forward queue's boot scan (store/queue.py): segments listed, the checkpoint read,
# every record after it checked (length, CRC), torn tails and delivered segments removed. Run once
# when a Queue is made (with the rest of its construction); loaded for it and dropped after.
import os

from store import atomic
from store.queue import HDR, MAGIC, valid


def init(q, dirpath, capacity, seg_records, checkpoint, log, buf):
    """Queue.__init__: its state, then the queue found on flash."""
    q.dir = dirpath
    q.capacity = max(1, capacity)
    q.seg_records = seg_records
    q.checkpoint = checkpoint
    q.log = log
    q.dropped = 0  # records dropped because the queue was full (persisted)
    q.corrupt = 0  # damaged records skipped since boot (a torn record is 1)
    q.lost_storage = 0  # readings lost because the filesystem refused them (persisted)
    q.error = None  # the current storage failure in words, None once a write succeeded
    q.pushed = 0
    q.popped = 0
    q.hdr = bytearray(HDR)
    q.since_ckpt = 0
    q.hl = None  # length of the record peek() returned (pop needs no re-read)
    q.buf = buf  # peek()'s reusable read buffer
    open_(q)


def open_(q):
    try:
        os.mkdir(q.dir)
    except OSError:
        pass
    segs = []
    for name in os.listdir(q.dir):
        if len(name) == 8 and name.isdigit():
            segs.append(int(name))
    segs.sort()
    st = atomic.read_json(q.dir + "/head", {}) or {}
    hseg = st.get("seg", -1)
    hoff = st.get("off", 0)
    d = st.get("dropped", 0)
    q.dropped = d if isinstance(d, int) else 0
    d = st.get("lost", 0)
    q.lost_storage = d if isinstance(d, int) else 0
    q.segs = []
    q.ns = []  # live records per segment
    q.head_off = 0
    for seg in segs:
        if isinstance(hseg, int) and seg < hseg:
            q.unlink(seg)  # fully delivered before the cut, not yet deleted
            continue
        start = hoff if (seg == hseg and isinstance(hoff, int)) else 0
        n, end, ok_start = scan(q, seg, start)
        if not ok_start:  # the checkpoint offset is not a record boundary: replay it all
            start = 0
            n, end, ok_start = scan(q, seg, 0)
        if n == 0:
            q.unlink(seg)
            continue
        if not q.segs:
            q.head_off = start
        q.segs.append(seg)
        q.ns.append(n)
    q.count = sum(q.ns)
    q.next_seg = (segs[-1] + 1) if segs else 0
    if isinstance(hseg, int) and hseg >= q.next_seg:
        q.next_seg = hseg + 1
    q.tail_open = False  # never append to a segment written before this boot


def scan(q, seg, start):
    """(valid records from start, end offset, start is a boundary)"""
    n = 0
    off = 0
    hdr = q.hdr
    boundary = start == 0
    try:
        with open(q.path(seg), "rb") as f:
            while True:
                if off == start:
                    boundary = True
                if off >= start and not boundary:
                    return 0, off, False
                if f.readinto(hdr) != HDR or hdr[0] != MAGIC:
                    break
                ln = hdr[2] | hdr[3] << 8
                if off >= start:
                    data = f.read(ln)
                    if len(data) != ln or not valid(hdr, data):
                        q.corrupt += 1
                        break
                    data = None
                    n += 1
                else:
                    f.seek(ln, 1)
                off += HDR + ln
    except OSError:
        pass
    return n, off, boundary
