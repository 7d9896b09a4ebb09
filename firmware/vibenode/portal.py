# Provisioning in the field: a Wi-Fi access point and a small HTTP form.
#
# The node opens an AP named "vibenode-<node id>" protected by the node's own passphrase
# (secrets.json portal_psk, generated per device by tools/provision.py or tools/fleet.py and printed
# on its label; there is no shared default: a node without one opens no AP at all). A phone joins,
# browses to http://192.168.4.1/ and submits networks, broker and node name. The form is
# validated with the same schema as config.json, stored atomically (config.save) and the node
# reboots into normal mode. With a good config the portal closes after portal.timeout_s and the
# node boots normally.
#
# The HTTP server is strict and bounded: one request per connection, request line + headers at
# most MAX_HEAD bytes, body at most MAX_BODY bytes (Content-Length required), form fields from a
# fixed list; anything malformed or oversize is answered 400 (wrong method 405, a form that fails
# validation 422) and the server carries on. Every DNS query gets the portal's address and every
# other page a redirect to the form, so a phone's "sign in to network" opens it by itself.
# Passphrases are never logged, echoed back or put on status.
import socket
import time

from vibenode import config
from vibenode.log import log
from vibenode.offline import REQUEST_FILE, OfflineWatch, passphrase, requested  # noqa: F401

MAX_HEAD = 1024
MAX_BODY = 2048
CONN_TIMEOUT_S = 2  # per socket call
REQUEST_MS = 5000  # per request, however slowly a client trickles bytes in
IDENTITY = "identity.json"  # {"node_id": ...}: the id an unconfigured node announces
FIELDS = ("node_id", "name", "ssid1", "psk1", "ssid2", "psk2", "host", "port", "plaintext", "token")


class BadRequest(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def listen_port():
    try:
        import os
        p = os.getenv("VIBENODE_PORTAL_PORT")  # host board tests only (the unix port has getenv)
        if p:
            return int(p)
    except (AttributeError, ImportError, ValueError):
        pass
    return 80


def node_id():
    try:
        import json
        with open(IDENTITY) as f:
            nid = json.load(f).get("node_id")
        if config.ident(nid):
            return nid
    except Exception:
        pass
    return config.node_id_hint()


# ---- HTTP parsing (strict, bounded) --------------------------------------------------------
def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    raise BadRequest(400, "bad percent-escape")


def unquote(b):
    out = bytearray()
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c == 43:  # '+'
            out.append(32)
        elif c == 37:  # '%'
            if i + 2 >= n:
                raise BadRequest(400, "truncated percent-escape")
            out.append(_hexval(b[i + 1]) * 16 + _hexval(b[i + 2]))
            i += 2
        elif c < 32 or c > 126:
            raise BadRequest(400, "raw byte in form data")
        else:
            out.append(c)
        i += 1
    try:
        s = bytes(out).decode("utf-8")
    except UnicodeError:
        raise BadRequest(400, "form data is not UTF-8")
    for ch in s:
        if ord(ch) < 32 or ord(ch) == 127:
            raise BadRequest(400, "control character in form data")
    return s


def parse_form(body):
    form = {}
    if not body:
        return form
    for part in body.split(b"&"):
        if not part:
            raise BadRequest(400, "empty form field")
        k, sep, v = part.partition(b"=")
        if not sep:
            raise BadRequest(400, "form field without '='")
        k = unquote(k)
        if k not in FIELDS:
            raise BadRequest(400, "unknown form field")
        if k in form:
            raise BadRequest(400, "form field given twice")
        form[k] = unquote(v)
    return form


def parse_head(head):
    """head: bytes up to (not including) the blank line. Returns (method, path, headers)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise BadRequest(400, "bad request line")
    method, path = parts[0], parts[1]
    if method not in (b"GET", b"POST", b"HEAD"):
        raise BadRequest(405, "method not allowed")
    if not path.startswith(b"/") or len(path) > 64:
        raise BadRequest(400, "bad path")
    hdrs = {}
    for ln in lines[1:]:
        k, sep, v = ln.partition(b":")
        if not sep or not k or b" " in k or b"\t" in k:
            raise BadRequest(400, "bad header line")
        for c in ln:
            if c < 32 and c != 9 or c > 126:
                raise BadRequest(400, "bad byte in header")
        k = k.decode().lower()
        if k in hdrs:
            raise BadRequest(400, "header given twice")
        if len(hdrs) >= 24:
            raise BadRequest(400, "too many headers")
        hdrs[k] = v.strip().decode()
    return method.decode(), path.decode(), hdrs


def read_request(conn):
    """Read one request from a socket with a timeout. Returns (method, path, headers, body)."""
    t0 = time.ticks_ms()

    def recv(n):
        if time.ticks_diff(time.ticks_ms(), t0) > REQUEST_MS:
            raise BadRequest(400, "request too slow")
        return conn.recv(n)

    buf = b""
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            break
        if len(buf) > MAX_HEAD:
            raise BadRequest(400, "request head too large")
        chunk = recv(256)
        if not chunk:
            raise BadRequest(400, "connection closed mid-request")
        buf += chunk
    if i > MAX_HEAD:
        raise BadRequest(400, "request head too large")
    method, path, hdrs = parse_head(buf[:i])
    body = buf[i + 4:]
    n = 0
    if "transfer-encoding" in hdrs:
        raise BadRequest(400, "transfer-encoding not supported")
    if method == "POST":
        cl = hdrs.get("content-length")
        if cl is None or not cl.isdigit() or len(cl) > 6:
            raise BadRequest(400, "Content-Length required")
        n = int(cl)
        if n > MAX_BODY:
            raise BadRequest(400, "form too large")
    elif "content-length" in hdrs and hdrs["content-length"] != "0":
        raise BadRequest(400, "unexpected body")
    if len(body) > n:
        raise BadRequest(400, "more data than Content-Length")
    while len(body) < n:
        chunk = recv(min(512, n - len(body)))
        if not chunk:
            raise BadRequest(400, "body shorter than Content-Length")
        body += chunk
    return method, path, hdrs, body


# ---- turning the form into a config --------------------------------------------------------
def _load_json(name):
    import json
    try:
        with open(name) as f:
            v = json.load(f)
        return v if isinstance(v, dict) else None
    except Exception:
        return None


def build(form, nid):
    """(raw config, secrets) from a form over the current (or last good) files; ConfigError if invalid."""
    raw = _load_json(config.PATH) or _load_json(config.GOOD) or {}
    sec = _load_json(config.SECRETS) or _load_json(config.SECRETS_GOOD) or {}
    try:
        config.check(raw, sec, config.exists, [])
    except config.ConfigError:
        raw = {k: raw[k] for k in raw if k in ("site", "tls", "sampling", "board") + config.OPEN_SECTIONS}
    raw = dict(raw)
    ident = _load_json(IDENTITY) or {}
    if "site" not in raw and config.ident(ident.get("site")):
        raw["site"] = ident["site"]  # set at provisioning: the certificate's ACL is for this site
    fixed = raw.get("node_id") or (nid if config.exists(IDENTITY) else None)
    if form.get("node_id") and fixed and form["node_id"] != fixed:
        raise config.ConfigError("node_id: fixed at provisioning (%s): its certificate is issued to it" % fixed)
    raw["node_id"] = fixed or form.get("node_id") or nid
    if form.get("name"):
        raw["name"] = form["name"]
    nets = []
    wsec = {}
    for i in ("1", "2"):
        ssid = form.get("ssid" + i, "")
        if ssid:
            psk = form.get("psk" + i, "")
            net = {"ssid": ssid}
            if psk:
                wsec[ssid] = psk
            else:
                net["open"] = True
            nets.append(net)
        elif form.get("psk" + i):
            raise config.ConfigError("wifi.networks: passphrase %s given without a network name" % i)
    if not nets:
        raise config.ConfigError("wifi.networks: at least one network is required")
    raw["wifi"] = dict(raw.get("wifi") or {})
    raw["wifi"]["networks"] = nets
    m = dict(raw.get("mqtt") or {})
    if form.get("host"):
        m["host"] = form["host"]
    if form.get("port"):
        p = form["port"]
        if not p.isdigit() or len(p) > 5:
            raise config.ConfigError("mqtt.port: an integer from 1 to 65535")
        m["port"] = int(p)
    m.pop("user", None)
    m.pop("password", None)
    raw["mqtt"] = m
    t = dict(raw.get("tls") or {})
    if form.get("plaintext") == "on":
        t["enabled"] = False
    elif form.get("plaintext"):
        raise config.ConfigError("plaintext: on or absent")
    elif "enabled" not in t and config.exists(t.get("ca", "ca.pem")):
        t["enabled"] = True  # a node given a CA at provisioning talks TLS, whatever the host looks like
        if t.get("cert", "client.pem") and not config.exists(t.get("cert", "client.pem")):
            t["cert"] = None
    raw["tls"] = t
    sec = dict(sec)
    sec["wifi"] = wsec
    config.check(raw, sec, config.exists, [])
    return raw, sec


# ---- pages ---------------------------------------------------------------------------------
def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def page_form(nid, msg="", token=""):
    raw = _load_json(config.PATH) or _load_json(config.GOOD) or {}
    m = raw.get("mqtt") if isinstance(raw.get("mqtt"), dict) else {}
    host = m.get("host") or ""
    port = m.get("port") or ""
    name = raw.get("name") or ""
    return ("<!DOCTYPE html><html><head><meta name=viewport content='width=device-width'><title>vibenode %s</title>"
            "</head><body><h1>vibenode %s</h1><p>%s</p><form method=post action=/save>"
            "<input type=hidden name=token value=\"%s\">"
            "<p>Name <input name=name maxlength=64 value=\"%s\"></p>"
            "<p>Wi-Fi 1 <input name=ssid1 maxlength=32> passphrase <input name=psk1 type=password maxlength=63></p>"
            "<p>Wi-Fi 2 <input name=ssid2 maxlength=32> passphrase <input name=psk2 type=password maxlength=63></p>"
            "<p>Broker <input name=host maxlength=253 value=\"%s\"> port <input name=port maxlength=5 value=\"%s\"></p>"
            "<p><button>Save and restart</button></p></form></body></html>"
            % (esc(nid), esc(nid), esc(msg), esc(token), esc(name), esc(host), esc(port)))


def dns_answer(q, ip):
    """The captive part: answer every DNS query for an A record with the portal's address, so a
    phone's connectivity check lands on the form. None for anything that is not a plain query."""
    n = len(q)
    if n < 17 or n > 512 or q[2] & 0xF8 or q[4] != 0 or q[5] != 1:  # QR=0, opcode 0, one question
        return None
    i = 12
    while True:  # QNAME labels
        if i >= n:
            return None
        ln = q[i]
        if ln == 0:
            break
        if ln > 63 or i - 12 > 255:
            return None
        i += ln + 1
    end = i + 5
    if end > n:
        return None
    qtype = q[i + 1] << 8 | q[i + 2]
    a = qtype in (1, 255)
    head = bytes([q[0], q[1], 0x85, 0x80, 0, 1, 0, 1 if a else 0, 0, 0, 0, 0])
    out = head + bytes(q[12:end])
    if a:
        out += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes(int(x) for x in ip.split("."))
    return out


def dns_port():
    try:
        import os
        p = os.getenv("VIBENODE_PORTAL_DNS_PORT")  # host board: off unless a test asks
        return int(p) if p else None
    except (AttributeError, ImportError, ValueError):
        return 53


def _same(a, b):
    """Compare without an early exit (no timing hint about the token)."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= ord(a[i]) ^ ord(b[i])
    return d == 0


def respond(conn, code, body, ctype="text/html", extra=""):
    reason = {200: "OK", 302: "Found", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
              422: "Unprocessable Entity", 500: "Internal Server Error"}.get(code, "Error")
    b = body.encode() if isinstance(body, str) else body
    head = "HTTP/1.1 %d %s\r\nContent-Type: %s; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n" \
           "Cache-Control: no-store\r\n%s\r\n" % (code, reason, ctype, len(b), extra)
    try:
        conn.send(head.encode())
        conn.send(b)
    except OSError:
        pass


class Portal:
    def __init__(self, nid, port=None, ip="192.168.4.1", dns=None):
        self.nid = nid
        self.port = port or listen_port()
        self.ip = ip
        self.dns_port = dns
        self.served = 0
        self.rejected = 0
        self.dns_answers = 0
        self.saved = False
        self.sock = None
        self.udp = None
        import os
        from binascii import hexlify
        self.token = hexlify(os.urandom(12)).decode()  # per portal session: no cross-site form posts

    def handle(self, conn):
        """One connection: never raises."""
        try:
            conn.settimeout(CONN_TIMEOUT_S)
            method, path, hdrs, body = read_request(conn)
            if path == "/" and method in ("GET", "HEAD"):
                respond(conn, 200, page_form(self.nid, token=self.token) if method == "GET" else "")
            elif path == "/save" and method == "POST":
                ct = hdrs.get("content-type", "")
                if ct.split(";")[0].strip() != "application/x-www-form-urlencoded":
                    raise BadRequest(400, "form must be application/x-www-form-urlencoded")
                form = parse_form(body)
                if not _same(form.pop("token", ""), self.token):  # only a form this portal served
                    raise BadRequest(403, "stale or foreign form: reload the page")
                try:
                    raw, sec = build(form, self.nid)
                except config.ConfigError as e:
                    self.rejected += 1
                    respond(conn, 422, page_form(self.nid, "Not saved: %s" % e, self.token))
                    return
                try:
                    config.save(raw, sec)
                except (OSError, config.ConfigError) as e:
                    self.rejected += 1
                    log("portal", "could not store the config: %s" % (type(e).__name__,))
                    respond(conn, 500, page_form(self.nid, "Not saved: the node could not store it (%s)"
                                                 % type(e).__name__, self.token))
                    return
                self.saved = True
                log("portal", "config saved from the portal; restarting")
                respond(conn, 200, "<!DOCTYPE html><html><body><p>Saved. The node restarts now.</p></body></html>")
            elif path in ("/", "/save"):
                raise BadRequest(405, "method not allowed")
            elif method == "GET":  # a phone's connectivity check, any other page: to the form
                url = "http://%s%s/" % (self.ip, "" if self.port == 80 else ":%d" % self.port)
                respond(conn, 302, "", "text/plain", "Location: %s\r\n" % url)
            else:
                raise BadRequest(404, "not found")
            self.served += 1
        except BadRequest as e:
            self.rejected += 1
            respond(conn, e.code, "%d %s\n" % (e.code, e.msg), "text/plain")
        except Exception as e:  # timeouts, resets, MemoryError: answer if possible, carry on
            self.rejected += 1
            if not isinstance(e, OSError):
                respond(conn, 400, "400 bad request\n", "text/plain")
        finally:
            try:
                conn.close()
            except Exception:
                pass

    def open(self):
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        except (AttributeError, OSError):
            pass
        self.sock = s
        s.bind(socket.getaddrinfo("0.0.0.0", self.port)[0][-1])
        s.listen(2)
        if self.dns_port:
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp = u
            u.bind(socket.getaddrinfo("0.0.0.0", self.dns_port)[0][-1])
        return s

    def handle_dns(self):
        try:
            q, addr = self.udp.recvfrom(600)
            r = dns_answer(q, self.ip)
            if r is not None:
                self.udp.sendto(r, addr)
                self.dns_answers += 1
        except Exception:  # a malformed packet or a send error: drop it
            pass

    def serve(self, timeout_s=None, max_requests=None):
        """Serve until a config is saved, `timeout_s` passes (None: forever) or max_requests."""
        import select
        poll = select.poll()
        poll.register(self.sock, select.POLLIN)
        if self.udp is not None:
            poll.register(self.udp, select.POLLIN)
        t0 = time.ticks_ms()
        n = 0
        while not self.saved and (max_requests is None or n < max_requests):
            if timeout_s is not None and time.ticks_diff(time.ticks_ms(), t0) > timeout_s * 1000:
                return False
            ev = poll.poll(500)
            if not ev:
                continue
            if self.udp is not None and any(e[0] is self.udp for e in ev):
                self.handle_dns()
            if not any(e[0] is self.sock for e in ev):
                continue
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            n += 1
            self.handle(conn)
        return self.saved

    def close(self):
        for s in (self.sock, self.udp):
            if s is not None:
                s.close()
        self.sock = self.udp = None


def start_ap(nid, psk):
    import network
    ap = network.WLAN(network.AP_IF)
    ap.active(True)
    ap.config(essid="vibenode-" + nid, password=psk, authmode=network.AUTH_WPA2_PSK)
    return ap


def run(cfg=None):
    """Provisioning mode. cfg is None when the node has no usable config: then the portal stays
    until a config is saved. With a good cfg it closes after portal.timeout_s. On save: reset."""
    if config.exists(REQUEST_FILE):
        try:
            import os
            os.remove(REQUEST_FILE)  # one-shot: a crash in the portal must not loop into it
        except OSError:
            pass
    nid = cfg["node_id"] if cfg else node_id()
    psk = passphrase()
    if psk is None:
        log("portal", "provisioning mode, but this node has no portal passphrase: no access point; "
                      "provision it over USB (make provision)")
        return None
    ap = start_ap(nid, psk)
    try:
        ip = ap.ifconfig()[0]
    except Exception:
        ip = "192.168.4.1"
    p = Portal(nid, ip=ip, dns=dns_port())
    try:
        p.open()
    except OSError as e:
        p.close()
        ap.active(False)
        log("portal", "cannot open the portal (%s)" % (e,))
        return None
    timeout_s = cfg["portal"]["timeout_s"] if cfg else None
    log("portal", "provisioning mode: access point vibenode-%s, http port %d%s"
        % (nid, p.port, "" if timeout_s is None else ", closes in %d s" % timeout_s))
    try:
        saved = p.serve(timeout_s)
    finally:
        p.close()
    if saved:
        import machine
        machine.reset()
    ap.active(False)
    log("portal", "closed after %d s: back to normal mode" % timeout_s)
    return p
