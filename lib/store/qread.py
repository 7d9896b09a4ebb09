# The store-and-forward queue's consumer (store/queue.py): the oldest record read and checked,
# the delivery position advanced, checkpoints written. It runs after an outage (replay) or when
# a full queue drops its oldest record, so the queue loads it then and drops it once the replay
# pauses (Queue.idle()). Functions over the Queue q; the docstrings of Queue.peek/pop/save_head
# are the contract.
from store import atomic
from store.queue import HDR, MAGIC, valid


def _buffer(q, ln):
    b = q.buf
    if b is None or len(b) < ln:
        q.buf = None
        b = q.buf = bytearray((ln + 511) & ~511)
    return b


def peek(q):
    if q.since_ckpt >= q.checkpoint and not save_head(q):
        return None
    while q.count:
        hdr = q.hdr
        try:
            with open(q.path(q.segs[0]), "rb") as f:
                f.seek(q.head_off)
                if f.readinto(hdr) == HDR and hdr[0] == MAGIC:
                    ln = hdr[2] | hdr[3] << 8
                    data = memoryview(_buffer(q, ln))[:ln]
                    if f.readinto(data) == ln and valid(hdr, data):
                        q.hl = ln
                        return hdr[1], data
        except OSError:
            pass
        # damaged or missing (should not happen after the boot scan): skip the segment
        q.corrupt += 1
        q.count -= q.ns[0]
        q.hl = None
        _next_segment(q)
    return None


def pop(q):
    if not q.count:
        return True
    _advance(q)
    q.popped += 1
    q.since_ckpt += 1
    if q.since_ckpt >= q.checkpoint:
        return save_head(q)
    return True


def _advance(q):
    ln = q.hl
    q.hl = None
    if ln is None:
        hdr = q.hdr
        ln = 0
        try:
            with open(q.path(q.segs[0]), "rb") as f:
                f.seek(q.head_off)
                if f.readinto(hdr) == HDR:
                    ln = hdr[2] | hdr[3] << 8
        except OSError:
            pass
    q.count -= 1
    q.ns[0] -= 1
    q.head_off += HDR + ln
    if q.ns[0] <= 0:
        _next_segment(q)


def _next_segment(q):
    seg = q.segs.pop(0)
    q.ns.pop(0)
    q.head_off = 0
    if not q.segs:
        q.tail_open = False
    q.unlink(seg)


def drop_head(q):
    """The oldest record goes unsent (the queue is full): counted in `dropped`."""
    _advance(q)
    q.dropped += 1
    q.since_ckpt += 1
    if q.since_ckpt >= q.checkpoint:
        save_head(q)


def save_head(q):
    seg = q.segs[0] if q.segs else q.next_seg
    try:
        atomic.write_json(q.dir + "/head", {"seg": seg, "off": q.head_off, "dropped": q.dropped,
                                            "lost": q.lost_storage})
    except OSError as e:
        q.error = "queue: " + atomic.describe(e)
        return False
    q.since_ckpt = 0
    q.error = None
    return True
