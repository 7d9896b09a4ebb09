# Store-and-forward queue: readings that could not be delivered, kept on the device filesystem
# in order, bounded, and safe against a power cut at any moment.
#
# Layout in `dirpath`: segment files named by an increasing number ("00000007"), each holding up
# to `seg_records` records appended one at a time, plus `head` (an atomic file: first segment
# and byte offset not yet delivered, and the dropped-record counter).
#   record = 0xA5, kind (u8), length (u16 LE), crc32(kind byte + payload) (u32 LE), payload
# A push is one open-append-close, so on littlefs the record is committed when push returns
# ("flushed"); a record torn by a power cut fails its length or CRC check and ends its segment.
# After a boot the queue never appends to an old segment, so a torn record is always the last
# one of its segment and everything before it is intact and in order.
# Delivery is at-least-once: a popped record is forgotten for good when its segment is deleted
# (all records delivered) or at the next `head` checkpoint (every `checkpoint` pops); a power cut
# in between re-sends at most that many records, which the consumer sees as duplicate seqs.
# When the queue holds `capacity` records, pushing drops the oldest and counts it (`dropped`).
#
# Storage failures (full or read-only filesystem) never crash the caller and never lose what was
# acknowledged:
#   push     raises StorageError ("queue: no space left on device"), counts the reading in
#            `lost_storage` and ends its segment: whatever part of the record landed is the last
#            thing in that segment (the scan stops there), the next push starts a new one.
#   pop      a checkpoint that cannot be written returns False; `peek` then retries it and
#            returns None (replay pauses) while it still fails, so at most `checkpoint` records
#            are delivered past the last checkpoint: a reboot re-sends at most that many
#            (`unsaved` counts them now). Replay resumes by itself when space returns.
#   error    the current failure in words (None when the last write succeeded): cleared by the
#            first successful write, so the caller can clear its status.
# Code a node runs rarely is loaded when needed: the boot scan (store/qscan.py, dropped after it)
# and the consumer (store/qread.py: peek, pop, checkpoints; loaded while a replay runs, dropped by
# idle() once it pauses); what stays loaded is the producer and the counters.
import os
import struct

from micropython import const

try:
    from binascii import crc32
except ImportError:  # pragma: no cover - ports without binascii.crc32
    from store.crc32 import crc32

from store import atomic, drop

MAGIC = const(0xA5)
HDR = const(8)
_MAX_PAYLOAD = const(8192)


class StorageError(OSError):
    """A record could not be written; str() says why ("queue: no space left on device")."""


def _crc(kind, payload):
    return crc32(payload, crc32(bytes((kind,)))) & 0xFFFFFFFF


def _quiet(*a):
    pass


def valid(hdr, data):
    """The record's payload matches the CRC in its header."""
    return _crc(hdr[1], data) == struct.unpack_from("<I", hdr, 4)[0]


class Queue:
    def __init__(self, dirpath, capacity=1000, seg_records=32, checkpoint=16, log=None, buf=None):
        """buf: peek()'s reusable read buffer, one shared with a stage that never overlaps a peek
        (None: made at the first peek). The queue on flash is scanned here (store/qscan.py)."""
        from store import qscan  # (boot only: dropped after)
        try:
            qscan.init(self, dirpath, capacity, seg_records, checkpoint, log or _quiet, buf)
        finally:
            qscan = None
            drop("qscan")

    # ---- files ---------------------------------------------------------------------------
    def path(self, seg):
        return "%s/%08d" % (self.dir, seg)

    def unlink(self, seg):
        try:
            os.remove(self.path(seg))
        except OSError:
            pass

    # ---- producer ------------------------------------------------------------------------
    def push(self, kind, payload):
        """Append one record; when this returns, the record survives a power cut. A storage
        failure raises StorageError; the reading is then lost and counted (`lost_storage`)."""
        ln = len(payload)
        if ln > _MAX_PAYLOAD:
            raise ValueError("record too large")
        if self.count >= self.capacity:  # full: the oldest go (counted in `dropped`)
            r = self._r()
            while self.count >= self.capacity:
                self.hl = None
                r.drop_head(self)
            r = None
            self.idle()
        new = not self.tail_open or self.ns[-1] >= self.seg_records
        seg = self.next_seg if new else self.segs[-1]
        hdr = self.hdr
        struct.pack_into("<BBHI", hdr, 0, MAGIC, kind, ln, _crc(kind, payload))
        try:
            with open(self.path(seg), "wb" if new else "ab") as f:
                if f.write(hdr) != HDR or f.write(payload) != ln:
                    raise OSError(28)  # a short write: FAT with no free cluster left
        except OSError as e:
            # never append after a record that may be partly on flash: the next push starts
            # a new segment, and a new segment that failed is not used at all
            self.tail_open = False
            if new:
                self.next_seg += 1
                self.unlink(seg)
            self.lost_storage += 1
            self.error = "queue: " + atomic.describe(e)
            raise StorageError(self.error)
        if new:
            self.next_seg += 1
            self.segs.append(seg)
            self.ns.append(0)
            if len(self.segs) == 1:
                self.head_off = 0
            self.tail_open = True
        self.ns[-1] += 1
        self.count += 1
        self.pushed += 1
        self.error = None

    # ---- consumer (store/qread.py) ---------------------------------------------------------
    @staticmethod
    def _r():
        from store import qread
        return qread

    def peek(self):
        """(kind, payload) of the oldest record, or None when empty. The payload is a
        memoryview into a buffer the queue reuses (no allocation per record on a small heap):
        valid until the next call on the queue. None too while a due checkpoint cannot be
        written (replay pauses, so a reboot re-sends at most `checkpoint` records)."""
        return self._r().peek(self)

    def pop(self):
        """Forget the oldest record (after it was delivered). False when the checkpoint due now
        could not be written (`error` says why; nothing is lost)."""
        return self._r().pop(self)

    def save_head(self):
        """Checkpoint the delivery position and the counters (one small atomic write). True when
        written; False on a storage failure (`error` says why), retried by the next peek."""
        return self._r().save_head(self)

    def idle(self):
        """The replay paused or ended: drop the consumer's code until the next one."""
        drop("qread")

    @property
    def unsaved(self):
        """Records delivered or dropped since the last checkpoint: what a reboot now re-sends."""
        return self.since_ckpt

    def __len__(self):
        return self.count
