# Sparkplug B payloads (org.eclipse.tahu.protobuf.Payload / Payload.Metric, proto2) written by
# hand into one preallocated buffer: varints, fixed64 doubles and length-delimited fields, no
# code generation and no message objects on the device. Only the fields the node uses:
#
#   Payload: timestamp=1 (uint64), metrics=2 (Metric), seq=3 (uint64)
#   Metric:  name=1, alias=2, timestamp=3 (uint64), datatype=4 (uint32), is_null=7 (bool),
#            long_value=11 (uint64), double_value=13 (double), boolean_value=14, string_value=15
#
# A metric is written with a one-byte length (its body < 128 bytes: our names and values are
# short, and a longer one raises ValueError instead of corrupting the buffer), so nothing is
# moved or copied. The reader of NCMDs is link/spbread.py (loaded when one arrives).
import struct

from micropython import const

# Sparkplug B datatypes (the DataType enum of sparkplug_b.proto)
UINT32 = const(7)
UINT64 = const(8)
DOUBLE = const(10)
BOOLEAN = const(11)
STRING = const(12)


def _wvi(b, i, v):
    while v > 0x7F:
        b[i] = (v & 0x7F) | 0x80
        v >>= 7
        i += 1
    b[i] = v
    return i + 1


class Writer:
    """One Sparkplug payload at a time into buf (bytearray); payload() is a memoryview of it,
    valid until the next begin()."""

    def __init__(self, buf):
        self.buf = buf
        self.mv = memoryview(buf)
        self.i = 0
        # the payload's timestamp as a varint, written once: a ms timestamp is a big int on a
        # device (over 2**30), every shift of it a heap object, so metrics copy these bytes
        self.ts = bytearray(10)
        self.tsn = 0

    def _vi(self, v):
        self.i = _wvi(self.buf, self.i, v)

    def _ts(self):
        b = self.buf
        t = self.ts
        i = self.i
        for k in range(self.tsn):
            b[i + k] = t[k]
        self.i = i + self.tsn

    def _key(self, field, wt):
        self.buf[self.i] = field << 3 | wt  # (every field number here is < 16: one byte)
        self.i += 1

    def _bytes(self, field, s):
        if isinstance(s, str):
            s = s.encode()
        n = len(s)
        self._key(field, 2)
        self._vi(n)
        self.buf[self.i:self.i + n] = s
        self.i += n

    def begin(self, ts_ms, seq=None):
        """A new payload: its timestamp (ms UTC) and seq (None for NDEATH)."""
        self.i = 0
        self.tsn = _wvi(self.ts, 0, ts_ms)
        self._key(1, 0)
        self._ts()
        if seq is not None:
            self._key(3, 0)
            self._vi(seq)

    def metric(self, name, alias, dtype, value, ts=True):
        """One metric: by name (birth, death) and/or alias (data), with the payload's timestamp
        (ts); value None is is_null."""
        if self.i + 140 > len(self.buf):
            raise ValueError("sparkplug payload over %d bytes" % len(self.buf))
        self._key(2, 2)
        ln = self.i
        self.i += 1  # the body's length, one byte
        body = self.i
        if name is not None:
            self._bytes(1, name)
        if alias is not None:
            self._key(2, 0)
            self._vi(alias)
        if ts:
            self._key(3, 0)
            self._ts()
        self._key(4, 0)
        self._vi(dtype)
        if value is None:
            self._key(7, 0)
            self._vi(1)
        elif dtype == DOUBLE:
            self._key(13, 1)
            struct.pack_into("<d", self.buf, self.i, value)
            self.i += 8
        elif dtype == BOOLEAN:
            self._key(14, 0)
            self._vi(1 if value else 0)
        elif dtype == STRING:
            self._bytes(15, value)
        else:  # (U)Int8..64: uint64 long_value, two's complement for negatives
            self._key(11, 0)
            self._vi(value & 0xFFFFFFFFFFFFFFFF if value < 0 else value)
        n = self.i - body
        if n > 127:
            raise ValueError("sparkplug metric %r: body %d bytes (max 127)" % (name or alias, n))
        self.buf[ln] = n

    def payload(self):
        return self.mv[:self.i]
