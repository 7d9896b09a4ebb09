# One connect attempt of the link (lib/link/mqtt.py), loaded for the attempt and dropped after
# (it runs at boot and after an outage, not while the session is up):
#   policy   (MqttLink): the broker's address for this attempt (link/dns.py, bounded), the
#            bookkeeping of a session that came up;
#   protocol (Proto, lib/link/mqttproto.py): TCP connect, TLS over it, CONNECT/CONNACK, every
#            byte through Proto's one bounded reader (_fill) and writer (_send).
# The whole attempt is bounded by the link's timeout_s.
import errno
import socket
from time import ticks_ms, ticks_add

from select import POLLOUT

from link.mqttproto import Proto, ProtocolError, MqttError, varint, put_str

# ---- platform quirks, all of them ------------------------------------------------------------
# connect() on a non-blocking socket: EINPROGRESS from the errno module (115 on unix; ESP32
# builds on lwIP/newlib report 119, older ones 118), EAGAIN on some ports.
_BUSY = (errno.EINPROGRESS, errno.EAGAIN, 118, 119)
# TLS: MicroPython's SSLSocket has no settimeout()/setsockopt(), so those go to the TCP socket,
# which is made non-blocking before it is wrapped (do_handshake_on_connect=False: the handshake
# then runs inside the bounded writes). poll() takes the TLS socket itself: it reports records
# mbedTLS has already decrypted and, mid-handshake, the direction mbedTLS waits for.
# TCP_NODELAY (IPPROTO_TCP 6, option 1 on Linux and lwIP): header and payload go out as separate
# writes without a Nagle stall; a port without the option skips it.


# ---- policy ------------------------------------------------------------------------------------
def init(lk, client_id, host, port, clock, keepalive=30, user=None, password=None, ssl=None,
         will_topic=None, will_msg=None, timeout_s=5, backoff_min_ms=500, backoff_max_ms=60000,
         log=None, wifi=None, dns=None, clean=True):
    """MqttLink.__init__ (the keywords and their defaults)."""
    lk.client_id = client_id
    lk.clean = clean  # False: a persistent session (the broker queues QoS 1 messages meanwhile)
    lk.host = host
    lk.port = port
    lk.clock = clock
    lk.keepalive = keepalive
    lk.user = user
    lk.password = password
    lk.ssl = ssl  # an SSLContext (link/tls.py) or None
    lk.will_topic = will_topic
    lk.will_msg = will_msg
    lk.will_retain = True  # (Sparkplug's NDEATH will is not retained)
    lk.timeout_s = timeout_s
    lk.backoff_min_ms = backoff_min_ms
    lk.backoff_max_ms = backoff_max_ms
    lk.log = log  # (None: MqttLink's own no-op; a function made here would keep this module loaded)
    lk.wifi = wifi  # link.wifi.Wifi or None (the network is just there, e.g. the host)
    lk.dns = dns  # see link/mqttcon.py dns_server()
    lk.client = None  # the session (lk.proto) while one is open
    lk.proto = None  # made at the first attempt, then reused by every session (no heap churn)
    lk.up = False
    lk.last_error = None
    lk.connects = 0  # successful sessions
    lk.attempts = 0
    lk.failures = 0  # attempts or sessions that failed
    lk.pings = 0
    lk.pingresps = 0
    lk.oversize = 0  # incoming messages too large to take (drained, answered by the handler)
    now = clock.ticks_ms()
    lk.down_since = now  # when the last session ended (or boot)
    lk.last_down_ms = 0  # how long the last outage lasted
    lk.down_error = None  # the error that started it
    lk.last_session_ms = None  # how long the last session lasted (a takeover: again and again short)
    lk.takeover = None  # TAKEOVER while sessions keep being cut right after CONNACK
    lk.takeovers = 0  # times a takeover was recognised
    lk.short = 0  # short sessions in a row (within link/mqtt.py's _WINDOW_MS of the first)
    lk.short_at = now
    lk.up_at = now
    lk.backoff = backoff_min_ms
    lk.next_try = now
    lk.last_tx = now
    lk.last_rx = now
    lk.ping_at = None  # when the unanswered PINGREQ was sent
    lk.on_up = None  # callback(link) after each successful connect (birth, subscribe)
    lk.on_msg = None  # callback(topic, msg, head, size, retain): msg None when oversized


def attempt(lk):
    """Connect lk (an MqttLink) by its timeout; raises on any failure (the link counts it)."""
    tmo = int(lk.timeout_s * 1000)
    deadline = ticks_add(ticks_ms(), tmo)
    addr = socket.getaddrinfo(resolve(lk), lk.port)[0][-1]
    c = lk.proto
    if c is None:  # made at the first attempt, then reused by every session (no heap churn)
        c = lk.proto = Proto(lk, tmo)
    c.timeout_ms = tmo
    lk.client = c
    open_(c, addr, lk.host, lk.ssl)
    connect(c, lk.client_id, lk.keepalive, lk.user, lk.password, lk.will_topic, lk.will_msg, deadline, lk.clean,
            lk.will_retain)
    clk = lk.clock
    lk.up = True
    lk.connects += 1
    lk.up_at = now = clk.ticks_ms()
    lk.backoff = lk.backoff_min_ms
    lk.rx()
    lk.tx()
    lk.down_error = lk.last_error  # why the previous session/attempt ended
    lk.last_error = None
    lk.last_down_ms = clk.ticks_diff(now, lk.down_since)


def dns_server(lk):
    """(server, port) for bounded lookups, or None: lk.dns is "dhcp" (the Wi-Fi lease's
    server), "a.b.c.d" or "a.b.c.d:port"; unset means getaddrinfo (no timeout of its own)."""
    d = lk.dns
    if not d:
        return None
    if d == "dhcp":
        if lk.wifi is None:
            return None
        return lk.wifi.wlan.ifconfig()[3], 53
    host, _, port = d.partition(":")
    return host, int(port) if port else 53


def resolve(lk):
    """The broker's address for this attempt (a name is looked up every attempt, so a moved
    broker is found)."""
    srv = dns_server(lk)
    if srv is None:
        return lk.host
    from link import dns, drop  # (the lookup's code: loaded for it, dropped after)
    try:
        return dns.resolve(lk.host, srv[0], srv[1], lk.timeout_s)
    finally:
        dns = None
        drop("dns")


# ---- protocol ----------------------------------------------------------------------------------
def open_(p, addr, host, ssl):
    """TCP connect (and TLS over it) for Proto p; the handshake completes in the first write
    (CONNECT), so a failed one (chain, validity, host name) sends no MQTT byte."""
    p.reset()
    p.raw = p.s = raw = socket.socket()
    try:
        raw.setsockopt(6, 1, 1)
    except (OSError, AttributeError):
        pass
    raw.setblocking(False)
    try:
        raw.connect(addr)
    except OSError as e:
        if e.args[0] not in _BUSY:
            raise
    if ssl is not None:
        p.s = ssl.wrap_socket(raw, server_hostname=host, do_handshake_on_connect=False)
    p.poller.register(p.s, POLLOUT)


def connect(p, cid, keepalive, user, password, will_topic, will_msg, deadline, clean=True, will_retain=True):
    """CONNECT (clean session unless clean is False; will QoS 1, retained unless will_retain is
    False) and its CONNACK, by the deadline."""
    flags = 0x02 if clean else 0
    fields = [cid]
    if will_topic:
        flags |= 0x2C if will_retain else 0x0C
        fields.append(will_topic)
        fields.append(will_msg or "")
    if user is not None:
        flags |= 0x80
        fields.append(user)
        if password is not None:
            flags |= 0x40
            fields.append(password)
    sz = 10
    for i in range(len(fields)):
        f = fields[i]
        if isinstance(f, str):
            fields[i] = f = f.encode()
        sz += 2 + len(f)
    pkt = bytearray(5 + sz)
    pkt[0] = 0x10
    i = varint(pkt, 1, sz)
    pkt[i:i + 10] = b"\x00\x04MQTT\x04\x00\x00\x00"
    pkt[i + 7] = flags
    pkt[i + 8] = keepalive >> 8
    pkt[i + 9] = keepalive & 0xFF
    i += 10
    for f in fields:
        i = put_str(pkt, i, f)
    # (under TLS this first write runs the handshake)
    p.send(memoryview(pkt)[:i], deadline,
            "no TLS handshake from broker in time" if p.s is not p.raw else "broker not taking data")
    b = p.fill(p.mv[:4], deadline, "CONNACK")
    if b[0] != 0x20 or b[1] != 2:
        raise ProtocolError("expected CONNACK, got %02x %02x" % (b[0], b[1]))
    if b[3]:
        raise MqttError("CONNACK: connection refused, code %d" % b[3])
    p.owner.rx()
