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
import os
import struct

try:
    from binascii import crc32
except ImportError:  # pragma: no cover - ports without binascii.crc32
    def crc32(data, crc=0):
        crc ^= 0xFFFFFFFF
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
        return crc ^ 0xFFFFFFFF

from store import atomic

MAGIC = 0xA5
HDR = 8
MAX_PAYLOAD = 8192


class StorageError(OSError):
    """A record could not be written; str() says why ("queue: no space left on device")."""


def _crc(kind, payload):
    return crc32(payload, crc32(bytes((kind,)))) & 0xFFFFFFFF


class Queue:
    def __init__(self, dirpath, capacity=1000, seg_records=32, checkpoint=16, log=None, buf=None):
        self.dir = dirpath
        self.capacity = max(1, capacity)
        self.seg_records = seg_records
        self.checkpoint = checkpoint
        self.log = log or (lambda *a: None)
        self.dropped = 0  # records dropped because the queue was full (persisted)
        self.corrupt = 0  # damaged records skipped since boot (a torn record is 1)
        self.lost_storage = 0  # readings lost because the filesystem refused them (persisted)
        self.error = None  # the current storage failure in words, None once a write succeeded
        self.pushed = 0
        self.popped = 0
        self._hdr = bytearray(HDR)
        self._since_ckpt = 0
        self._hl = None  # length of the record peek() returned (pop needs no re-read)
        self._buf = buf  # peek()'s reusable read buffer (buf: one shared with a stage that never overlaps a peek)
        self._open()

    # ---- files ---------------------------------------------------------------------------
    def _path(self, seg):
        return "%s/%08d" % (self.dir, seg)

    def _open(self):
        try:
            os.mkdir(self.dir)
        except OSError:
            pass
        segs = []
        for name in os.listdir(self.dir):
            if len(name) == 8 and name.isdigit():
                segs.append(int(name))
        segs.sort()
        st = atomic.read_json(self.dir + "/head", {}) or {}
        hseg = st.get("seg", -1)
        hoff = st.get("off", 0)
        d = st.get("dropped", 0)
        self.dropped = d if isinstance(d, int) else 0
        d = st.get("lost", 0)
        self.lost_storage = d if isinstance(d, int) else 0
        self.segs = []
        self.ns = []  # live records per segment
        self.head_off = 0
        for seg in segs:
            if isinstance(hseg, int) and seg < hseg:
                self._remove(seg)  # fully delivered before the cut, not yet deleted
                continue
            start = hoff if (seg == hseg and isinstance(hoff, int)) else 0
            n, end, ok_start = self._scan(seg, start)
            if not ok_start:  # the checkpoint offset is not a record boundary: replay it all
                start = 0
                n, end, ok_start = self._scan(seg, 0)
            if n == 0:
                self._remove(seg)
                continue
            if not self.segs:
                self.head_off = start
            self.segs.append(seg)
            self.ns.append(n)
        self.count = sum(self.ns)
        self.next_seg = (segs[-1] + 1) if segs else 0
        if isinstance(hseg, int) and hseg >= self.next_seg:
            self.next_seg = hseg + 1
        self.tail_open = False  # never append to a segment written before this boot

    def _scan(self, seg, start):
        """(valid records from start, end offset, start is a boundary)"""
        n = 0
        off = 0
        hdr = self._hdr
        boundary = start == 0
        try:
            with open(self._path(seg), "rb") as f:
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
                        if len(data) != ln or _crc(hdr[1], data) != struct.unpack_from("<I", hdr, 4)[0]:
                            self.corrupt += 1
                            break
                        data = None
                        n += 1
                    else:
                        f.seek(ln, 1)
                    off += HDR + ln
        except OSError:
            pass
        return n, off, boundary

    def _remove(self, seg):
        try:
            os.remove(self._path(seg))
        except OSError:
            pass

    # ---- producer ------------------------------------------------------------------------
    def push(self, kind, payload):
        """Append one record; when this returns, the record survives a power cut. A storage
        failure raises StorageError; the reading is then lost and counted (`lost_storage`)."""
        ln = len(payload)
        if ln > MAX_PAYLOAD:
            raise ValueError("record too large")
        while self.count >= self.capacity:
            self._hl = None
            self._drop_head()
        new = not self.tail_open or self.ns[-1] >= self.seg_records
        seg = self.next_seg if new else self.segs[-1]
        hdr = self._hdr
        struct.pack_into("<BBHI", hdr, 0, MAGIC, kind, ln, _crc(kind, payload))
        try:
            with open(self._path(seg), "wb" if new else "ab") as f:
                if f.write(hdr) != HDR or f.write(payload) != ln:
                    raise OSError(28)  # a short write: FAT with no free cluster left
        except OSError as e:
            # never append after a record that may be partly on flash: the next push starts
            # a new segment, and a new segment that failed is not used at all
            self.tail_open = False
            if new:
                self.next_seg += 1
                self._remove(seg)
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

    # ---- consumer ------------------------------------------------------------------------
    def _buffer(self, ln):
        b = self._buf
        if b is None or len(b) < ln:
            self._buf = None
            b = self._buf = bytearray((ln + 511) & ~511)
        return b

    def peek(self):
        """(kind, payload) of the oldest record, or None when empty. The payload is a
        memoryview into a buffer the queue reuses (no allocation per record on a small heap):
        valid until the next call on the queue. None too while a due checkpoint cannot be
        written (replay pauses, so a reboot re-sends at most `checkpoint` records)."""
        if self._since_ckpt >= self.checkpoint and not self.save_head():
            return None
        while self.count:
            seg = self.segs[0]
            hdr = self._hdr
            try:
                with open(self._path(seg), "rb") as f:
                    f.seek(self.head_off)
                    if f.readinto(hdr) == HDR and hdr[0] == MAGIC:
                        ln = hdr[2] | hdr[3] << 8
                        data = memoryview(self._buffer(ln))[:ln]
                        if f.readinto(data) == ln and _crc(hdr[1], data) == struct.unpack_from("<I", hdr, 4)[0]:
                            self._hl = ln
                            return hdr[1], data
            except OSError:
                pass
            # damaged or missing (should not happen after the boot scan): skip the segment
            self.corrupt += 1
            self.count -= self.ns[0]
            self._hl = None
            self._next_segment()
        return None

    def pop(self):
        """Forget the oldest record (after it was delivered). False when the checkpoint due now
        could not be written (`error` says why; nothing is lost)."""
        if not self.count:
            return True
        self._advance()
        self.popped += 1
        self._since_ckpt += 1
        if self._since_ckpt >= self.checkpoint:
            return self.save_head()
        return True

    @property
    def unsaved(self):
        """Records delivered or dropped since the last checkpoint: what a reboot now re-sends."""
        return self._since_ckpt

    def _advance(self):
        ln = self._hl
        self._hl = None
        if ln is None:
            hdr = self._hdr
            ln = 0
            try:
                with open(self._path(self.segs[0]), "rb") as f:
                    f.seek(self.head_off)
                    if f.readinto(hdr) == HDR:
                        ln = hdr[2] | hdr[3] << 8
            except OSError:
                pass
        self.count -= 1
        self.ns[0] -= 1
        self.head_off += HDR + ln
        if self.ns[0] <= 0:
            self._next_segment()

    def _next_segment(self):
        seg = self.segs.pop(0)
        self.ns.pop(0)
        self.head_off = 0
        if not self.segs:
            self.tail_open = False
        self._remove(seg)

    def _drop_head(self):
        self._advance()
        self.dropped += 1
        self._since_ckpt += 1
        if self._since_ckpt >= self.checkpoint:
            self.save_head()

    def save_head(self):
        """Checkpoint the delivery position and the counters (one small atomic write). True when
        written; False on a storage failure (`error` says why), retried by the next peek."""
        seg = self.segs[0] if self.segs else self.next_seg
        try:
            atomic.write_json(self.dir + "/head", {"seg": seg, "off": self.head_off, "dropped": self.dropped,
                                                   "lost": self.lost_storage})
        except OSError as e:
            self.error = "queue: " + atomic.describe(e)
            return False
        self._since_ckpt = 0
        self.error = None
        return True

    def __len__(self):
        return self.count
