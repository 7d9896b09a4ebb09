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
# Here: the access point, the server loop, the DNS answers, the routes. The bounded HTTP request is
# vibenode/httpreq.py; what a posted form makes of the config is vibenode/portalcfg.py (loaded for
# a post and dropped before the config is validated and saved).
import socket
import time

from vibenode import config, drop
from vibenode.httpreq import BadRequest, parse_form, read_request, respond
from vibenode.log import log
from vibenode.offline import REQUEST_FILE, OfflineWatch, passphrase, requested  # noqa: F401

CONN_TIMEOUT_S = 2  # per socket call
REQUEST_MS = 5000  # per request, however slowly a client trickles bytes in
IDENTITY = "identity.json"  # {"node_id": ...}: the id an unconfigured node announces
FIELDS = ("node_id", "name", "ssid1", "psk1", "ssid2", "psk2", "host", "port", "plaintext", "token")
# what the portal loads: app.py drops them all after it ran (imported .mpy code sits in the heap)
MODULES = ("vibenode.portal", "vibenode.httpreq", "vibenode.portalcfg")


def load_json(name):
    """A JSON object from a file; None for none (missing, unreadable, not an object, or larger than
    a config may be: not ours, not parsed)."""
    import json
    import os
    try:
        if os.stat(name)[6] > config.MAX_FILE:
            return None
        with open(name) as f:
            v = json.load(f)
        return v if isinstance(v, dict) else None
    except Exception:
        return None


def node_id():
    """The id the portal announces: the one fixed at provisioning (identity.json), else the one
    config.json or the last good copy names (valid or not), else one from the chip's unique id."""
    for name in (IDENTITY, config.PATH, config.GOOD):
        nid = (load_json(name) or {}).get("node_id")
        if config.ident(nid):
            return nid
    try:
        import binascii
        import machine
        return "vn-" + binascii.hexlify(machine.unique_id()).decode()
    except Exception:
        return "vn-unknown"


def env_port(name, unset, device):
    """A port the host board's tests set in the environment (the unix port has getenv): `unset`
    when they do not; `device` on a device (no getenv) or for a bad value."""
    try:
        import os
        p = os.getenv(name)
        return int(p) if p else unset
    except (AttributeError, ImportError, ValueError):
        return device


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


def _same(a, b):
    """Compare without an early exit (no timing hint about the token)."""
    if len(a) != len(b):
        return False
    d = 0
    for i in range(len(a)):
        d |= ord(a[i]) ^ ord(b[i])
    return d == 0


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def page(nid, msg="", token=""):
    raw = load_json(config.PATH) or load_json(config.GOOD) or {}
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


class Portal:
    def __init__(self, nid, port=None, ip="192.168.4.1", dns=None):
        self.nid = nid
        self.port = port or env_port("VIBENODE_PORTAL_PORT", 80, 80)
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
            method, path, hdrs, body = read_request(conn, REQUEST_MS)
            if path == "/" and method in ("GET", "HEAD"):
                respond(conn, 200, page(self.nid, token=self.token) if method == "GET" else "")
            elif path == "/save" and method == "POST":
                ct = hdrs.get("content-type", "")
                if ct.split(";")[0].strip() != "application/x-www-form-urlencoded":
                    raise BadRequest(400, "form must be application/x-www-form-urlencoded")
                form = parse_form(body, FIELDS)
                if not _same(form.pop("token", ""), self.token):  # only a form this portal served
                    raise BadRequest(403, "stale or foreign form: reload the page")
                try:
                    raw, sec = self.build(form)
                    config.save(raw, sec)  # validates them (the schema of config.json), then stores
                except config.ConfigError as e:
                    self.rejected += 1
                    respond(conn, 422, page(self.nid, "Not saved: %s" % e, self.token))
                    return
                except OSError as e:
                    self.rejected += 1
                    log("portal", "could not store the config: %s" % (type(e).__name__,))
                    respond(conn, 500, page(self.nid, "Not saved: the node could not store it (%s)"
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

    def build(self, form):
        """(raw config, secrets) from the form; its code leaves the heap before they are validated
        (the validator's tables are loaded then: the portal's peak)."""
        from vibenode import portalcfg
        try:
            return portalcfg.build(form, self.nid)
        finally:
            portalcfg = None
            drop("vibenode.portalcfg")
            import gc
            gc.collect()

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
    p = Portal(nid, ip=ip, dns=env_port("VIBENODE_PORTAL_DNS_PORT", None, 53))  # host board: off unless asked
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
