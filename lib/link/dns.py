# DNS A-record lookup over UDP with a timeout. MicroPython's getaddrinfo() has no timeout (on
# the ESP32, lwIP retries for many seconds while the node loop is blocked), so when the DNS
# server is known (the DHCP lease's, from wlan.ifconfig()[3], or link.dns in config) the link
# resolves the broker's name itself, once per connect attempt, bounded by timeout_s.
import struct

try:
    import socket
except ImportError:  # pragma: no cover
    import usocket as socket


def is_ipv4(host):
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p.isdigit() or int(p) > 255:
            return False
    return True


def _query(name, qid):
    q = bytearray(struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0))  # recursion desired, 1 question
    for label in name.split("."):
        b = label.encode()
        if not 0 < len(b) < 64:
            raise ValueError("bad host name %r" % name)
        q.append(len(b))
        q.extend(b)
    q.extend(b"\x00\x00\x01\x00\x01")  # root, type A, class IN
    return q


def _skip_name(msg, i):
    while True:
        n = msg[i]
        if n & 0xC0 == 0xC0:  # compression pointer
            return i + 2
        if n == 0:
            return i + 1
        i += n + 1


def resolve(name, server, port=53, timeout_s=2, qid=0x5A17):
    """The first IPv4 address of `name` (a string), asking `server`; raises OSError."""
    if is_ipv4(name):
        return name
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout_s)
        s.sendto(_query(name, qid), socket.getaddrinfo(server, port, 0, socket.SOCK_DGRAM)[0][-1])
        try:
            msg = s.recv(512)
        except OSError as e:
            raise OSError("DNS: no answer from %s within %s s (%s)" % (server, timeout_s, e))
    finally:
        s.close()
    try:
        rid, flags, qd, an = struct.unpack_from("!HHHH", msg, 0)
        if rid != qid or not flags & 0x8000:
            raise OSError("DNS: not an answer to our query")
        if flags & 0x000F:
            raise OSError("DNS: %s: error code %d" % (name, flags & 0x000F))
        i = 12
        for _ in range(qd):
            i = _skip_name(msg, i) + 4
        for _ in range(an):
            i = _skip_name(msg, i)
            typ, cls, ttl, ln = struct.unpack_from("!HHIH", msg, i)
            i += 10
            if typ == 1 and cls == 1 and ln == 4:
                return "%d.%d.%d.%d" % (msg[i], msg[i + 1], msg[i + 2], msg[i + 3])
            i += ln
    except (IndexError, ValueError):  # short or inconsistent message
        raise OSError("DNS: malformed answer for %s" % name)
    raise OSError("DNS: no A record for %s" % name)
