# MQTT link over umqtt.simple: connect with a retained last will, bounded socket timeouts, a
# robust packet reader, keepalive pings with PINGRESP tracking, and reconnect with exponential
# backoff plus jitter. It never raises to the caller on network trouble: it reports its state
# (`up`, `last_error`, counters) instead, and any exception from the client (OSError, assertion,
# index error on a truncated packet, MQTTException, MemoryError) closes the session and schedules
# a reconnect.
#
# umqtt.simple does the CONNECT/CONNACK exchange (and TLS: its `ssl` argument); after that the
# packets are read by _Client below, because umqtt.simple's own reader trusts the broker: it
# indexes into short reads, allocates whatever remaining length it is sent, and hides PINGRESP.
#
# Half-open links: the link sends PINGREQ when it has sent nothing for keepalive/2 or heard
# nothing for keepalive/2, and declares the session dead when a PINGREQ goes unanswered for
# keepalive/2 - at most ~keepalive after the last packet from the broker, inside the broker's own
# 1.5 x keepalive. Every blocking socket call has a timeout (timeout_s).
import random

try:
    import socket as _socket
except ImportError:  # pragma: no cover
    import usocket as _socket
try:
    import select as _select
except ImportError:  # pragma: no cover
    import uselect as _select

from umqtt import simple as _umqtt

MAX_IN = 4608  # largest packet body the node accepts (a cmd payload is limited to 4 KB)
MAX_DRAIN = 1 << 20  # a bigger remaining length than this is a protocol error: reconnect
HINT = 160  # bytes of an oversized payload kept for the command handler (to find the id)
MAX_WAIT_PACKETS = 8192  # packets read while waiting for one PUBACK/SUBACK before giving up
DRAIN = 2000  # packets read per service() call at most (a flood is drained, not left queued)


class ProtocolError(Exception):
    pass


class _SockFactory:
    """Stands in for the `socket` module inside umqtt.simple: every socket it makes has a
    timeout, and getaddrinfo answers from the address we resolved once for this attempt."""

    def __init__(self, timeout_s):
        self.timeout_s = timeout_s
        self.addr = None
        self.made = None

    def socket(self, *a):
        s = _socket.socket(*a)
        s.settimeout(self.timeout_s)
        try:
            s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: no Nagle stall between packet parts
        except Exception:
            pass
        self.made = s
        return s

    def getaddrinfo(self, host, port, *a):
        if self.addr is not None:
            return [(2, 1, 0, "", self.addr)]
        return _socket.getaddrinfo(host, port, *a)


class _Client(_umqtt.MQTTClient):
    """umqtt.simple's client with a defensive packet layer (everything after CONNACK)."""

    def _setup(self, link):
        self.link = link
        self.acked = -1  # last PUBACK packet id
        self.subacked = -1
        self.poller = _select.poll()
        # under TLS (link/tls.py) poll the TLS socket itself: it also reports decrypted bytes
        # already buffered, which the TCP socket underneath does not show
        self.poller.register(getattr(self.sock, "_s", self.sock), _select.POLLIN)

    def _read(self, n):
        sock = self.sock
        got = sock.read(n)
        if got is None:
            raise OSError(11)  # EAGAIN: nothing within the timeout
        if len(got) == n:
            return got
        buf = bytearray(got)
        while len(buf) < n:
            more = sock.read(n - len(buf))
            if not more:
                raise OSError(104, "connection closed mid-packet")  # ECONNRESET
            buf.extend(more)
        return buf

    def _recv_len(self):
        n = 0
        sh = 0
        for _ in range(4):
            b = self._read(1)[0]
            n |= (b & 0x7F) << sh
            if not b & 0x80:
                return n
            sh += 7
        raise ProtocolError("remaining length over 4 bytes")

    def ready(self):
        """True when a packet (or EOF/error) is waiting; ipoll allocates nothing per call."""
        for ev in self.poller.ipoll(0):
            if ev[1] & (_select.POLLIN | _select.POLLHUP | _select.POLLERR):
                return True
        return False

    def wait_msg(self):
        """Read one packet (blocking, within the socket timeout) and handle it. Returns the
        packet type byte."""
        res = self.sock.read(1)
        if res is None:
            raise OSError(11)
        if res == b"":
            raise OSError(104, "connection closed by broker")
        op = res[0]
        sz = self._recv_len()
        link = self.link
        link._rx()
        t = op & 0xF0
        if t == 0x30:
            self._publish_in(op, sz)
        elif t == 0x40:  # PUBACK
            if sz != 2:
                raise ProtocolError("PUBACK length %d" % sz)
            b = self._read(2)
            self.acked = b[0] << 8 | b[1]
        elif t == 0x90:  # SUBACK
            if sz < 3 or sz > 8:
                raise ProtocolError("SUBACK length %d" % sz)
            b = self._read(sz)
            self.subacked = b[0] << 8 | b[1]
            if b[2] == 0x80:
                raise _umqtt.MQTTException("subscription refused")
        elif t == 0xD0:  # PINGRESP
            if sz != 0:
                raise ProtocolError("PINGRESP length %d" % sz)
            link.pingresps += 1
        elif t == 0x20:
            raise ProtocolError("unexpected CONNACK")
        else:
            self._drain(sz)
        return op

    def _drain(self, sz):
        if sz > MAX_DRAIN:
            raise ProtocolError("remaining length %d" % sz)
        while sz:
            k = sz if sz < 256 else 256
            self._read(k)
            sz -= k

    def _publish_in(self, op, sz):
        if sz < 2 or sz > MAX_DRAIN:
            raise ProtocolError("PUBLISH remaining length %d" % sz)
        b = self._read(2)
        tl = b[0] << 8 | b[1]
        qos = (op >> 1) & 3
        body = sz - 2 - tl - (2 if qos else 0)
        if tl > 256 or body < 0 or qos == 3:
            raise ProtocolError("PUBLISH topic length %d / size %d" % (tl, sz))
        topic = self._read(tl)
        pid = 0
        if qos:
            b = self._read(2)
            pid = b[0] << 8 | b[1]
        if sz > MAX_IN:
            keep = body if body < HINT else HINT
            head = self._read(keep) if keep else b""
            self._drain(body - keep)
            self.link._deliver(topic, None, head, body, op & 1)
        else:
            msg = self._read(body) if body else b""
            self.link._deliver(topic, msg, None, body, op & 1)
        if qos == 1:
            pkt = bytearray(b"\x40\x02\0\0")
            pkt[2] = pid >> 8
            pkt[3] = pid & 0xFF
            self.sock.write(pkt)
        # QoS 2 is never requested by the node (subscriptions are QoS 1)

    def check_msg(self):
        """Handle the packets already waiting, without blocking. Returns how many were read."""
        n = 0
        while n < DRAIN and self.ready():
            self.wait_msg()
            n += 1
        return n

    def publish(self, topic, msg, retain=False, qos=0):
        """msg: str, bytes, or a tuple of byte strings / memoryviews sent back to back (so a
        replayed record gets its flag without a copy of the payload)."""
        if isinstance(topic, str):
            topic = topic.encode()
        if isinstance(msg, str):
            msg = msg.encode()
        parts = msg if isinstance(msg, tuple) else (msg,)
        ml = 0
        for p in parts:
            ml += len(p)
        tl = len(topic)
        sz = 2 + tl + ml + (2 if qos else 0)
        if sz >= 268435456:
            raise ValueError("message too large")
        hdr = bytearray(9 + tl)
        hdr[0] = 0x30 | qos << 1 | (1 if retain else 0)
        i = 1
        while sz > 0x7F:
            hdr[i] = (sz & 0x7F) | 0x80
            sz >>= 7
            i += 1
        hdr[i] = sz
        i += 1
        hdr[i] = tl >> 8
        hdr[i + 1] = tl & 0xFF
        i += 2
        hdr[i:i + tl] = topic
        i += tl
        pid = 0
        if qos:
            self.pid = self.pid % 65535 + 1
            pid = self.pid
            hdr[i] = pid >> 8
            hdr[i + 1] = pid & 0xFF
            i += 2
        # header and payload parts written separately (TCP_NODELAY is set: no Nagle stall), so
        # a payload is never copied to be sent
        self.sock.write(memoryview(hdr)[:i])
        for p in parts:
            self.sock.write(p)
        self.link._tx()
        if qos == 1:
            # wait for our PUBACK; packets that arrive meanwhile (commands) are handled as usual,
            # each read bounded by the socket timeout, the whole wait by a packet count (a cmd
            # flood can put a backlog ahead of the PUBACK: read through it)
            for _ in range(MAX_WAIT_PACKETS):
                self.wait_msg()
                if self.acked == pid:
                    return
            raise ProtocolError("no PUBACK for packet %d" % pid)
        elif qos == 2:
            raise ValueError("QoS 2 not supported")

    def subscribe(self, topic, qos=0):
        if isinstance(topic, str):
            topic = topic.encode()
        self.pid = self.pid % 65535 + 1
        pid = self.pid
        tl = len(topic)
        pkt = bytearray(7 + tl)
        pkt[0] = 0x82
        pkt[1] = 2 + 2 + tl + 1  # topics are short (< 128 bytes with their header)
        pkt[2] = pid >> 8
        pkt[3] = pid & 0xFF
        pkt[4] = tl >> 8
        pkt[5] = tl & 0xFF
        pkt[6:6 + tl] = topic
        pkt[6 + tl] = qos
        self.sock.write(pkt)
        self.link._tx()
        for _ in range(MAX_WAIT_PACKETS):
            self.wait_msg()
            if self.subacked == pid:
                return
        raise ProtocolError("no SUBACK")

    def ping(self):
        self.sock.write(b"\xc0\0")
        self.link._tx()


class MqttLink:
    def __init__(self, client_id, host, port, clock, keepalive=30, user=None, password=None, ssl=None,
                 will_topic=None, will_msg=None, timeout_s=5, backoff_min_ms=500, backoff_max_ms=60000,
                 log=None, wifi=None):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.clock = clock
        self.keepalive = keepalive
        self.user = user
        self.password = password
        self.ssl = ssl
        self.will_topic = will_topic
        self.will_msg = will_msg
        self.timeout_s = timeout_s
        self.backoff_min_ms = backoff_min_ms
        self.backoff_max_ms = backoff_max_ms
        self.log = log or (lambda *a: None)
        self.wifi = wifi  # link.wifi.Wifi or None (the network is just there, e.g. the host)
        self.dns = None  # see dns_server()
        self.client = None
        self.up = False
        self.last_error = None
        self.connects = 0  # successful sessions
        self.attempts = 0
        self.failures = 0  # attempts or sessions that failed
        self.pings = 0
        self.pingresps = 0
        self.oversize = 0  # incoming messages too large to take (dropped, answered by the handler)
        self.down_since = clock.ticks_ms()  # when the last session ended (or boot)
        self.last_down_ms = 0  # how long the last outage lasted
        self.down_error = None  # the error that started it
        self._backoff = backoff_min_ms
        self._next_try = clock.ticks_ms()
        now = clock.ticks_ms()
        self._last_tx = now
        self._last_rx = now
        self._ping_at = None  # when the unanswered PINGREQ was sent
        self.on_up = None  # callback(link) after each successful connect (birth, subscribe)
        self.on_msg = None  # callback(topic, msg, head, size): msg None when oversized
        self._fac = _SockFactory(timeout_s)

    # ---- bookkeeping used by the client ----------------------------------------------------
    def _tx(self):
        self._last_tx = self.clock.ticks_ms()

    def _rx(self):
        self._last_rx = self.clock.ticks_ms()
        self._ping_at = None

    def _deliver(self, topic, msg, head, size, retain):
        if msg is None:
            self.oversize += 1
        if self.on_msg:
            self.on_msg(topic, msg, head, size, retain)

    # ---- connection ----------------------------------------------------------------------
    def due(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._next_try) >= 0

    def net_up(self):
        w = self.wifi
        if w is None:
            return True
        w.service()
        return w.up

    def connect(self):
        """One connect attempt if the backoff allows. Returns True when up."""
        if self.up:
            return True
        if not self.net_up() or not self.due():  # (the Wi-Fi state machine runs every call)
            return False
        self._close()
        self.attempts += 1
        try:
            fac = self._fac
            fac.addr = None
            fac.made = None
            fac.addr = _socket.getaddrinfo(self.resolve(), self.port)[0][-1]  # DNS once per attempt
            _umqtt.socket = fac
            c = _Client(self.client_id, self.host, self.port, user=self.user, password=self.password,
                        keepalive=self.keepalive, ssl=self.ssl)
            if self.will_topic:
                c.set_last_will(self.will_topic, self.will_msg, retain=True, qos=1)
            c.set_callback(self._noop)
            self.client = c
            try:
                c.connect()
            finally:
                if c.sock is None and fac.made is not None:
                    c.sock = fac.made  # so _close() can close what connect() left open
            c.sock.settimeout(self.timeout_s)
            c._setup(self)
            self.up = True
            self.connects += 1
            self._backoff = self.backoff_min_ms
            self._rx()
            self._tx()
            self.down_error = self.last_error  # why the previous session/attempt ended
            self.last_error = None
            self.last_down_ms = self.clock.ticks_diff(self.clock.ticks_ms(), self.down_since)
            if self.on_up:
                self.on_up(self)
            return self.up
        except Exception as e:  # any client failure (OSError, assertion, index error, ...)
            self._fail("connect", e)
            return False

    def _noop(self, topic, msg):
        pass

    def dns_server(self):
        """(server, port) for bounded lookups, or None: `dns` is "dhcp" (the Wi-Fi lease's
        server), "a.b.c.d" or "a.b.c.d:port"; unset means getaddrinfo (no timeout of its own)."""
        d = self.dns
        if not d:
            return None
        if d == "dhcp":
            if self.wifi is None:
                return None
            return self.wifi.wlan.ifconfig()[3], 53
        host, _, port = d.partition(":")
        return host, int(port) if port else 53

    def resolve(self):
        """The broker's address for this attempt (a name is looked up every attempt, so a
        moved broker is found)."""
        srv = self.dns_server()
        if srv is None:
            return self.host
        from link.dns import resolve
        return resolve(self.host, srv[0], srv[1], self.timeout_s)

    def _fail(self, what, e):
        self.failures += 1
        self.last_error = "%s: %s %s" % (what, type(e).__name__, e)
        self.log("link", self.last_error)
        if self.up:
            self.down_since = self.clock.ticks_ms()
        self.up = False
        self._close()
        jitter = random.getrandbits(16) * self._backoff // 65536 // 2
        self._next_try = self.clock.ticks_add(self.clock.ticks_ms(), self._backoff + jitter)
        self._backoff = min(self._backoff * 2, self.backoff_max_ms)

    def _close(self):
        c = self.client
        self.client = None
        if c is not None and c.sock is not None:
            try:
                c.sock.close()
            except Exception:
                pass
            c.sock = None

    def disconnect(self):
        """Clean DISCONNECT (the broker then does not publish the will)."""
        if self.up and self.client:
            try:
                self.client.sock.write(b"\xe0\0")
            except Exception:
                pass
        if self.up:
            self.down_since = self.clock.ticks_ms()
        self.up = False
        self._close()

    def drop(self, why):
        """Abandon the session as if the network failed (tests, and a dead link found by the node)."""
        if self.up:
            self._fail(why, OSError("dropped"))

    # ---- traffic -------------------------------------------------------------------------
    def publish(self, topic, payload, retain=False, qos=0):
        """True if handed to the broker (QoS 1: acknowledged by PUBACK)."""
        if not self.up:
            return False
        try:
            self.client.publish(topic, payload, retain, qos)
            return True
        except Exception as e:
            self._fail("publish", e)
            return False

    def subscribe(self, topic, qos=0):
        if not self.up:
            return False
        try:
            self.client.subscribe(topic, qos)
            return True
        except Exception as e:
            self._fail("subscribe", e)
            return False

    def service(self, max_packets=DRAIN):
        """Read what the broker sent (without blocking), keep the session alive, reconnect when
        due. Call often (the node does every <= 100 ms between windows)."""
        if not self.up:
            self.connect()
            return
        if not self.net_up():
            self._fail("service", OSError("Wi-Fi lost"))
            return
        try:
            c = self.client
            n = 0
            while n < max_packets and c.ready():
                c.wait_msg()
                n += 1
            now = self.clock.ticks_ms()
            ka = self.keepalive * 1000
            if ka:
                if self._ping_at is not None:
                    if self.clock.ticks_diff(now, self._ping_at) > ka // 2:
                        raise OSError(110, "no PINGRESP within keepalive/2 (half-open link)")
                elif (self.clock.ticks_diff(now, self._last_tx) >= ka // 2
                      or self.clock.ticks_diff(now, self._last_rx) >= ka // 2):
                    c.ping()
                    self.pings += 1
                    self._ping_at = now
        except Exception as e:
            self._fail("service", e)

    def status(self):
        return {"up": self.up, "connects": self.connects, "attempts": self.attempts, "failures": self.failures,
                "last_error": self.last_error}
