# MQTT 3.1.1 protocol for the node's link (lib/link/mqtt.py holds the connection policy).
#
# One session = one Proto. Every socket byte goes through one bounded reader (fill; a drain's slices: link/mqttdrain.py)
# and one bounded writer (send): the socket is non-blocking and each wait is a poll() up to a
# deadline, so nothing here can block longer than the deadline it was given - TCP connect,
# TLS handshake (driven by the first write, as asyncio does), CONNECT/CONNACK, PUBACK, SUBACK.
# Packets: CONNECT (clean or persistent session, will QoS 1 retained), CONNACK, PUBLISH QoS 0/1 (DUP set on a
# resend), PUBACK, SUBSCRIBE/SUBACK, PINGREQ/PINGRESP, DISCONNECT. QoS 2 is never used.
#
# An incoming PUBLISH bigger than MAX_IN (up to MQTT's 268435455) is never allocated: its first
# HINT bytes go to the callback (the command handler reads the id there and answers with an
# error) and the rest is drained in chunks, a bounded amount per service() call, so a huge
# command neither ends the session nor stops the node measuring.
import select
import errno
from time import ticks_ms, ticks_add, ticks_diff
from micropython import const

MAX_IN = const(4608)  # largest PUBLISH body taken whole (a cmd payload is at most 4 KB)
HINT = const(160)  # bytes of an oversized payload handed to the callback (to find the id)
_CHUNK = const(256)  # the reader's scratch buffer: drain chunk, topic (<= 256), head
_HDR = const(265)  # PUBLISH header: type, length (4), topic (2 + 256), packet id
_MAX_LEN = const(268435455)
_IN = const(1)  # select.POLLIN
_OUT = const(4)  # select.POLLOUT


class ProtocolError(Exception):
    """The broker sent something that is not MQTT 3.1.1 as this client speaks it."""


class MqttError(Exception):
    """The broker refused: CONNACK return code, SUBACK failure."""


class Proto:
    """The MQTT session over one socket at a time: made once per link and reused for every
    session (its buffers and poller are allocated once, so reconnects do not fragment the
    heap). `owner` gets rx() for every byte heard, tx() for each packet sent, pingresp(), and
    deliver(topic, msg, head, size, retain) for each incoming PUBLISH."""

    def __init__(self, owner, timeout_ms):
        self.owner = owner
        self.timeout_ms = timeout_ms
        self.s = None  # the stream: TLS socket or TCP socket
        self.raw = None  # the TCP socket
        self.poller = select.poll()
        self.pid = 0
        self.buf = bytearray(_CHUNK)  # the reader's scratch
        self.mv = mv = memoryview(self.buf)
        self.mv1 = mv[:1]
        self.mv2 = mv[:2]
        self.hdr = bytearray(_HDR)  # the writer's PUBLISH header
        self.reset()

    def reset(self):
        self.acked = -1  # last PUBACK packet id
        self.subacked = -1
        self.sub_rc = 0
        self.skip = 0  # bytes of an oversized PUBLISH still to drain
        self.skip_pid = 0  # its packet id (QoS 1: PUBACK once drained)

    def _poll(self, ev, t):
        """True when the stream is ready for ev (or has an error/EOF) within t ms."""
        p = self.poller
        p.modify(self.s, ev)
        for _ in p.ipoll(t):
            return True
        return False

    def wait(self, ev, deadline, what):
        t = ticks_diff(deadline, ticks_ms())
        if t <= 0 or not self._poll(ev, t):
            raise OSError(errno.ETIMEDOUT, ("no %s from broker in time" % what) if ev == _IN else what)

    def fill(self, mv, deadline, what="packet"):
        """Read exactly len(mv) bytes by the deadline."""
        s = self.s
        i = 0
        n = len(mv)
        while i < n:
            k = s.readinto(mv[i:] if i else mv)
            if k is None:
                self.wait(_IN, deadline, what)
            elif k == 0:
                raise OSError(errno.ECONNRESET, "connection closed mid-packet")
            else:
                i += k
        return mv

    def send(self, data, deadline, what="broker not taking data"):
        s = self.s
        mv = memoryview(data)
        i = 0
        n = len(mv)
        while i < n:
            k = s.write(mv[i:] if i else mv)
            if k is None:
                self.wait(_OUT, deadline, what)
            else:
                i += k

    def deadline(self):
        return ticks_add(ticks_ms(), self.timeout_ms)

    # ---- session (open and CONNECT/CONNACK: link/mqttcon.py, loaded per connect attempt) ----
    def close(self):
        if self.s is not None:
            try:
                self.poller.unregister(self.s)
            except Exception:
                pass
        for s in (self.s, self.raw):
            if s is not None:
                try:
                    s.close()
                except Exception:
                    pass
        self.s = self.raw = None

    def disconnect(self):
        try:
            self.send(b"\xe0\0", self.deadline())
        except Exception:
            pass

    def ping(self):
        self.send(b"\xc0\0", self.deadline())

    # ---- outgoing ----------------------------------------------------------------------
    def next_pid(self):
        self.pid = self.pid % 65535 + 1
        return self.pid

    def publish(self, topic, parts, retain, qos):
        """parts: a tuple of byte strings / memoryviews sent back to back (a replayed record
        gets its flag without a copy). QoS 1: waits for the PUBACK (reading what arrives
        meanwhile) up to the timeout, resending once with DUP at half of it."""
        ml = 0
        for p in parts:
            ml += len(p)
        tl = len(topic)
        if tl > 256:
            raise ValueError("topic too long")
        sz = 2 + tl + ml + (2 if qos else 0)
        if sz > _MAX_LEN:
            raise ValueError("message too large")
        h = self.hdr
        h[0] = 0x30 | qos << 1 | (1 if retain else 0)
        i = varint(h, 1, sz)
        i = put_str(h, i, topic)
        pid = 0
        if qos:
            pid = self.next_pid()
            h[i] = pid >> 8
            h[i + 1] = pid & 0xFF
            i += 2
        hdr = memoryview(h)[:i]
        deadline = self.deadline()
        self.send(hdr, deadline)
        for p in parts:
            self.send(p, deadline)
        self.owner.tx()
        if not qos:
            return
        resend = ticks_add(ticks_ms(), self.timeout_ms // 2)
        dup = False
        while self.acked != pid:
            if not dup and not self.skip:
                t = ticks_diff(resend, ticks_ms())
                if t <= 0 or not self._poll(_IN, t):  # nothing by half the timeout: once more
                    dup = True
                    h[0] |= 0x08  # DUP
                    self.send(hdr, deadline)
                    for p in parts:
                        self.send(p, deadline)
                    continue
            self.step(deadline, "PUBACK")

    # ---- incoming ----------------------------------------------------------------------
    def step(self, deadline, what="packet"):
        """Handle one unit of input: a chunk of a drain or one packet. deadline None: only
        what is there now (returns False when nothing was). A packet, once begun, must arrive
        whole within the timeout."""
        if self.skip:  # (link/mqttdrain.py: loaded for one slice of a drain, dropped after)
            from link import drop, mqttdrain
            try:
                return mqttdrain.drain(self, deadline, what)
            finally:
                mqttdrain = None
                drop("mqttdrain")
        if deadline is None:
            if not self._poll(_IN, 0):  # (ipoll allocates nothing per call)
                return False
            deadline = self.deadline()
        mv = self.mv
        try:
            self.fill(self.mv1, deadline, what)
        except OSError as e:
            if e.args[0] == errno.ECONNRESET:
                raise OSError(errno.ECONNRESET, "connection closed by broker")
            raise
        op = mv[0]
        sz = 0
        sh = 0
        while True:
            if sh > 21:
                raise ProtocolError("remaining length over 4 bytes")
            b = self.fill(self.mv1, deadline)[0]
            sz |= (b & 0x7F) << sh
            sh += 7
            if not b & 0x80:
                break
        self.owner.rx()
        t = op & 0xF0
        if t == 0x30:
            self._publish_in(op, sz, deadline)
        elif t == 0x40:  # PUBACK
            if sz != 2:
                raise ProtocolError("PUBACK length %d" % sz)
            self.fill(self.mv2, deadline)
            self.acked = mv[0] << 8 | mv[1]
        elif t == 0x90:  # SUBACK (one topic per SUBSCRIBE)
            if sz != 3:
                raise ProtocolError("SUBACK length %d" % sz)
            self.fill(mv[:3], deadline)
            self.sub_rc = mv[2]
            self.subacked = mv[0] << 8 | mv[1]
        elif t == 0xD0:  # PINGRESP
            if sz:
                raise ProtocolError("PINGRESP length %d" % sz)
            self.owner.pingresp()
        elif t == 0x20:
            raise ProtocolError("unexpected CONNACK")
        else:  # anything else (PUBREL, ...) is skipped
            self.skip = sz
            self.skip_pid = 0
        return True

    def _publish_in(self, op, sz, deadline):
        mv = self.mv
        qos = (op >> 1) & 3
        if sz < 2 or qos == 3:
            raise ProtocolError("PUBLISH flags %02x, length %d" % (op, sz))
        self.fill(self.mv2, deadline)
        tl = mv[0] << 8 | mv[1]
        body = sz - 2 - tl - (2 if qos else 0)
        if tl > 256 or body < 0:
            raise ProtocolError("PUBLISH topic length %d, length %d" % (tl, sz))
        topic = bytes(self.fill(mv[:tl], deadline))
        pid = 0
        if qos:
            self.fill(self.mv2, deadline)
            pid = mv[0] << 8 | mv[1]
        if body > MAX_IN:
            head = bytes(self.fill(mv[:HINT], deadline))
            self.skip = body - HINT
            self.skip_pid = pid
            self.owner.deliver(topic, None, head, body, op & 1)
            return
        msg = bytearray(body)
        if body:
            self.fill(memoryview(msg), deadline)
        self.owner.deliver(topic, msg, None, body, op & 1)
        if pid:
            self.puback(pid)

    def puback(self, pid):
        self.send(bytes((0x40, 2, pid >> 8, pid & 0xFF)), self.deadline())


def varint(b, i, n):
    while n > 0x7F:
        b[i] = (n & 0x7F) | 0x80
        n >>= 7
        i += 1
    b[i] = n
    return i + 1


def put_str(b, i, s):
    n = len(s)
    b[i] = n >> 8
    b[i + 1] = n & 0xFF
    b[i + 2:i + 2 + n] = s
    return i + 2 + n
