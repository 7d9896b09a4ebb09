"""Network fault helpers for the link tests (CPython side).

BlackholeProxy: a TCP proxy between node and broker; `blackhole(True)` silently drops every
byte in both directions (connections stay open, new ones are accepted and go nowhere), as a
dead Wi-Fi AP or a NAT that lost its state does; `blackhole(False)` forwards again.

FakeBroker: a scripted MQTT 3.1.1 server (plain, or TLS with a given server certificate). Each
accepted connection takes the next script from the list (the last one repeats): "good" is a
minimal correct broker (CONNACK, SUBACK, PUBACK, PINGRESP) that records what it was sent; the
others misbehave in one precise way (tcp_silent: accepts TCP and never answers, connack_silent:
never answers CONNECT, connack_stalled: stops mid-CONNACK, no_puback: never acknowledges
telemetry, ...).
"""
import select
import socket
import struct
import threading
import time


class BlackholeProxy:
    def __init__(self, target_port, host="127.0.0.1", port=0):
        self.target = (host, target_port)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.holed = False
        self.pairs = []
        self.stop_flag = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def blackhole(self, on):
        self.holed = on

    def _run(self):
        socks = {}
        while not self.stop_flag:
            rl = [self.ls] + list(socks)
            try:
                r, _, _ = select.select(rl, [], [], 0.05)
            except (OSError, ValueError):
                r = []
                for s in list(socks):
                    if s.fileno() < 0:
                        socks.pop(s, None)
            for s in r:
                if s is self.ls:
                    c, _ = self.ls.accept()
                    try:
                        u = socket.create_connection(self.target, timeout=2)
                    except OSError:
                        c.close()
                        continue
                    socks[c] = u
                    socks[u] = c
                    continue
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                peer = socks.get(s)
                if not data and self.holed:
                    # a close does not cross a dead network either: the other side stays open
                    socks.pop(s, None)
                    if peer is not None:
                        socks[peer] = None
                    try:
                        s.close()
                    except OSError:
                        pass
                    continue
                if not data:
                    for x in (s, peer):
                        if x is not None:
                            socks.pop(x, None)
                            try:
                                x.close()
                            except OSError:
                                pass
                    continue
                if self.holed or peer is None:
                    continue  # dropped on the floor
                try:
                    peer.sendall(data)
                except OSError:
                    pass
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.stop_flag = True
        self.t.join(2)
        self.ls.close()


def _read_exact(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            raise EOFError
        buf += d
    return buf


def read_packet(c):
    h = _read_exact(c, 1)[0]
    n = 0
    sh = 0
    while True:
        b = _read_exact(c, 1)[0]
        n |= (b & 0x7F) << sh
        sh += 7
        if not b & 0x80:
            break
    return h, _read_exact(c, n) if n else b""


class FakeBroker:
    def __init__(self, scripts, tls=None):
        """tls: (certfile, keyfile) of a server certificate: every session runs over TLS."""
        self.scripts = list(scripts)
        self.tls = None
        if tls:
            import ssl
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.conns = 0
        self.published = []  # (topic, payload, qos, retain) from "good" sessions
        self.connects = []  # (script, client_id)
        self.unacked = []  # telemetry payloads a "no_puback" session took and never acknowledged
        self.stop_flag = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        self.ls.settimeout(0.1)
        while not self.stop_flag:
            try:
                c, _ = self.ls.accept()
            except OSError:
                continue
            script = self.scripts[min(self.conns, len(self.scripts) - 1)]
            self.conns += 1
            threading.Thread(target=self._serve, args=(c, script), daemon=True).start()

    def _serve(self, c, script):
        c.settimeout(30)
        try:
            if script == "tcp_silent":  # accepts TCP, then says nothing (not even TLS)
                self.connects.append((script, None))
                time.sleep(3)
                return
            if self.tls:
                c = self.tls.wrap_socket(c, server_side=True)
            h, body = read_packet(c)
            assert h == 0x10, "expected CONNECT"
            cid_len = struct.unpack("!H", body[10:12])[0]
            cid = body[12:12 + cid_len].decode()
            self.connects.append((script, cid))
            if script == "bad_connack_type":
                c.sendall(b"\x21\x02\x00\x00")
                time.sleep(0.5)
                return
            if script == "connack_refused":
                c.sendall(b"\x20\x02\x00\x05")  # not authorized
                time.sleep(0.5)
                return
            if script == "connack_truncated":
                c.sendall(b"\x20\x02\x00")
                return  # and close
            if script == "connack_silent":
                time.sleep(3)
                return
            if script == "connack_stalled":  # stops in the middle of its CONNACK, connection open
                c.sendall(b"\x20\x02")
                time.sleep(3)
                return
            c.sendall(b"\x20\x02\x00\x00")
            if script == "garbage_after_connack":
                c.sendall(b"\x30\xff\xff\xff\xff\x01junk")  # 5-byte remaining length
                time.sleep(0.5)
                return
            while True:
                h, body = read_packet(c)
                t = h & 0xF0
                if t == 0x80:  # SUBSCRIBE
                    pid = body[:2]
                    c.sendall(b"\x90\x03" + pid + b"\x01")
                elif t == 0xC0:
                    if script == "no_pingresp":
                        continue
                    c.sendall(b"\xd0\x00")
                elif t == 0xE0:
                    return
                elif t == 0x30:
                    qos = (h >> 1) & 3
                    tl = struct.unpack("!H", body[:2])[0]
                    topic = body[2:2 + tl].decode()
                    i = 2 + tl
                    pid = b""
                    if qos:
                        pid = body[i:i + 2]
                        i += 2
                    payload = body[i:]
                    if script == "puback_truncated" and topic.endswith("/telemetry"):
                        c.sendall(b"\x40\x02" + pid[:1])
                        return  # and close mid-packet
                    if script == "puback_wrong_length" and topic.endswith("/telemetry"):
                        c.sendall(b"\x40\x03" + pid + b"\x00")
                        time.sleep(0.5)
                        return
                    if script == "oversized_remaining_length" and topic.endswith("/telemetry"):
                        # 268 MB announced, 300 bytes of it sent, then the connection dies
                        c.sendall(b"\x30\xff\xff\xff\x7f\x00\x05hello" + b"x" * 300)
                        time.sleep(0.5)
                        return
                    if script == "no_puback" and topic.endswith("/telemetry"):
                        self.unacked.append(payload)
                        continue  # never acknowledged, the connection stays open
                    if script == "close_mid_publish" and topic.endswith("/telemetry"):
                        # half of a PUBLISH to the node's cmd topic, then the connection dies
                        c.sendall(b"\x30\x40\x00\x10vibenode/x/y/cm")
                        return
                    if script == "good":
                        self.published.append((topic, payload, qos, bool(h & 1)))
                    if qos == 1:
                        c.sendall(b"\x40\x02" + pid)
        except (EOFError, OSError, AssertionError, ValueError):
            pass
        finally:
            try:
                c.close()
            except OSError:
                pass


    def close(self):
        self.stop_flag = True
        self.t.join(2)
        self.ls.close()
