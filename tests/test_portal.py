"""Captive portal on the MicroPython unix port over loopback: strict bounded HTTP (fuzzed), a valid
form provisions and reboots the node into normal mode, and an unprovisioned node never talks MQTT."""
import json
import os
import random
import re
import socket
import subprocess
import time

import pytest

from conftest import MPY, Subscriber, free_port, mpy_env, mpy_result, start_node, wait_listening

PORTAL_PSK = "label-k7m2-p9qx-4hfw"
WIFI_PSK = "Plant-WiFi-Secret-31"

SERVE_SCRIPT = r"""
import sys, json
from vibenode import config  # (a boot has it loaded)
before = set(sys.modules)
from vibenode import portal
portal.REQUEST_MS = 1000  # the per-request bound (5 s on the node), short for the trickle test
p = portal.Portal("pump-07", int(sys.argv[1]), dns=int(sys.argv[3]))
p.open()
saved = p.serve(max_requests=int(sys.argv[2]))
left = sorted(m for m in sys.modules if m not in before and m not in portal.MODULES)  # what app.py would keep
print("RESULT " + json.dumps({"saved": saved, "served": p.served, "rejected": p.rejected, "dns": p.dns_answers,
                              "left": left, "drops": portal.MODULES}))
"""


def request(port, data, timeout=5.0, shut=True):
    """Send raw bytes, return (status code or None, body bytes or an error name)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError as e:
            return None, type(e).__name__
        buf = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
        except OSError as e:
            if not buf:
                return None, type(e).__name__
        if not buf:
            return None, "closed"
        line = buf.split(b"\r\n", 1)[0].split(b" ")
        assert line[0] == b"HTTP/1.1", buf[:80]
        return int(line[1]), buf.split(b"\r\n\r\n", 1)[-1]
    finally:
        s.close()


def post(port, body, ctype=b"application/x-www-form-urlencoded", path=b"/save"):
    if isinstance(body, str):
        body = body.encode()
    return (b"POST " + path + b" HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def portal_token(port):
    code, body = request(port, b"GET / HTTP/1.1\r\n\r\n")
    assert code == 200, body
    return re.search(rb'name=token value="([0-9a-f]{24})"', body).group(1).decode()


def submit(port, form):
    """What a browser does: load the form (with its token), post it back."""
    return request(port, post(0, "token=%s&%s" % (portal_token(port), form)))


def fuzz_cases(n, token, seed=20261125):
    """(bytes, expected codes). Malformed or oversize: 400 (404/405 for a well-formed request to the
    wrong place, 422 for a well-formed form the config schema rejects); None: the server may cut us off."""
    rnd = random.Random(seed)
    # a form the schema always rejects (psk1 too short), mutated below: must never be saved
    tk = "token=%s&" % token
    base = tk + "name=Pump+7&ssid1=plant&host=127.0.0.1&port=1883&psk1=abc"
    fixed = [
        (b"", {400, None}),
        (b"\r\n\r\n", {400}),
        (b"GET /\r\n\r\n", {400}),
        (b"GET / HTTP/2.0\r\n\r\n", {400}),
        (b"GET  / HTTP/1.1\r\n\r\n", {400}),
        (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", {400}),
        (b"GET / HTTP/1.1\r\nA: 1\r\nA: 2\r\n\r\n", {400}),
        (b"GET / HTTP/1.1\r\nX: \x00\r\n\r\n", {400}),
        (b"GET / HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 5000 + b"\r\n\r\n", {400, None}),
        (b"GET /" + b"a" * 100 + b" HTTP/1.1\r\n\r\n", {400}),
        (b"GET " + b"a" * 3000, {400, None}),
        (b"POST /save HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"a" * 3000, {400, None}),
        (b"POST /save HTTP/1.1\r\nContent-Length: -5\r\n\r\n", {400}),
        (b"POST /save HTTP/1.1\r\nContent-Length: 12\r\n\r\nshort", {400}),
        (b"POST /save HTTP/1.1\r\nContent-Length: 2\r\n\r\ntoo long", {400}),
        (b"POST /save HTTP/1.1\r\n\r\nname=x", {400}),
        (b"POST /save HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400}),
        (post(0, base, ctype=b"text/plain"), {400}),
        (post(0, "ssid1=a%zz"), {400}),
        (post(0, "ssid1=a%4"), {400}),
        (post(0, "ssid1=%ff%fe"), {400}),
        (post(0, "ssid1=a%07b"), {400}),
        (post(0, "ssid1=a&&host=b"), {400}),
        (post(0, "ssid1"), {400}),
        (post(0, "evil=1"), {400}),
        (post(0, "ssid1=a&ssid1=b"), {400}),
        (post(0, "ssid1=\xe9".encode("latin-1")), {400}),
        (post(0, base), {422}),
        (post(0, tk + "ssid1=" + "s" * 40 + "&psk1=" + "p" * 12), {422}),
        (post(0, tk + "ssid1=plant&psk1=longenough1&port=99999999"), {422}),
        (post(0, tk + "ssid1=plant&psk1=longenough1&host=a+b"), {422}),
        (post(0, tk + "ssid1=plant&psk1=longenough1&plaintext=yes"), {422}),
        (post(0, tk + "node_id=other-node&ssid1=plant&psk1=longenough1"), {422}),
        # a form the portal did not serve (cross-site post, stale page): refused before validation
        (post(0, "ssid1=plant&psk1=%s&host=127.0.0.1" % WIFI_PSK), {403}),
        (post(0, "token=%s&ssid1=plant&psk1=%s&host=127.0.0.1" % ("0" * 24, WIFI_PSK)), {403}),
        (post(0, "token=%s&ssid1=plant&psk1=%s&host=127.0.0.1" % (token[:-1], WIFI_PSK)), {403}),  # the id is fixed by its certificate
        (post(0, "x" * 2049), {400, None}),
        (b"DELETE / HTTP/1.1\r\n\r\n", {405}),
        (b"GET /save HTTP/1.1\r\n\r\n", {405}),
        (b"GET /generate_204 HTTP/1.1\r\n\r\n", {302}),  # captive: every other page leads to the form
        (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", {302}),
        (b"POST /etc/passwd HTTP/1.1\r\nContent-Length: 0\r\n\r\n", {404}),
    ]
    out = list(fixed)
    valid_get = b"GET / HTTP/1.1\r\nHost: 192.168.4.1\r\n\r\n"
    valid_post = post(0, base)
    while len(out) < n:
        k = rnd.randrange(6)
        if k == 0:  # random bytes
            out.append((bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 1500))), {400, None}))
        elif k in (1, 2):  # mutated request: flip, insert, delete or truncate
            src = bytearray(valid_post if k == 1 else valid_get)
            for _ in range(rnd.randrange(1, 4)):
                if not src:
                    break
                op = rnd.randrange(4)
                i = rnd.randrange(len(src))
                if op == 0:
                    src[i] = rnd.randrange(256)
                elif op == 1:
                    src[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
                elif op == 2:
                    del src[i:i + rnd.randrange(1, 8)]
                else:
                    del src[i:]
            out.append((bytes(src), {200, 302, 400, 403, 404, 405, 422, None}))
        elif k == 3:  # oversize in every part
            part = rnd.randrange(3)
            big = b"A" * rnd.choice((1025, 2049, 4096, 20000))
            req = [b"GET / HTTP/1.1\r\nX: " + big + b"\r\n\r\n", b"GET /" + big + b" HTTP/1.1\r\n\r\n",
                   post(0, b"name=" + big + b"A" * 1024)][part]  # heads over 1 KB, bodies over 2 KB
            out.append((req, {400, None}))
        elif k == 4:  # random form fields, percent-escapes and values
            fields = []
            for _ in range(rnd.randrange(1, 6)):
                key = rnd.choice(["name", "ssid1", "psk1", "ssid2", "psk2", "host", "port", "plaintext", "x",
                                  "%6e%61me", "ssid1%00"])
                val = "".join(rnd.choice("abc%+&=0123456789fFzZ") for _ in range(rnd.randrange(0, 20)))
                fields.append(key + "=" + val)
            fields.append("psk1=a")  # always short: this form is never a valid config
            out.append((post(0, tk + "&".join(fields)), {400, 422}))
        else:  # valid head, garbage header lines
            hdr = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))).replace(b"\r\n\r\n", b"")
            out.append((b"GET / HTTP/1.1\r\n" + hdr + b"\r\n\r\n", {200, 400}))
    return out[:n]


def dns_query(name, qtype=1, qid=0x1234):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + q + qtype.to_bytes(2, "big") + b"\x00\x01"


def dns_check(dport):
    """The portal's DNS answers A queries with its address (RFC 1035 layout), ignores junk."""
    import struct
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    try:
        u.sendto(dns_query("connectivitycheck.gstatic.com"), ("127.0.0.1", dport))
        r, _ = u.recvfrom(600)
        qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", r[:12])
        assert qid == 0x1234 and flags & 0x8000 and flags & 0xF == 0 and (qd, an) == (1, 1)
        q = dns_query("connectivitycheck.gstatic.com")[12:]
        assert r[12:12 + len(q)] == q
        name, typ, cls, ttl, rdlen = struct.unpack(">HHHIH", r[12 + len(q):12 + len(q) + 12])
        assert (name, typ, cls, rdlen) == (0xC00C, 1, 1, 4)
        assert socket.inet_ntoa(r[-4:]) == "192.168.4.1"
        u.sendto(dns_query("example.com", qtype=28, qid=7), ("127.0.0.1", dport))  # AAAA: no answer
        r, _ = u.recvfrom(600)
        assert struct.unpack(">HHHH", r[:8])[0] == 7 and struct.unpack(">HHHH", r[:8])[3] == 0
        rnd = random.Random(5)
        for i in range(300):  # junk: dropped, the server lives on
            junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 700)))
            if i % 3 == 0:
                junk = dns_query("a" * 63 + "." + "b" * 70)[:rnd.randrange(5, 80)]
            u.sendto(junk, ("127.0.0.1", dport))
        time.sleep(0.2)
        u.sendto(dns_query("portal.test", qid=99), ("127.0.0.1", dport))
        while True:
            r, _ = u.recvfrom(600)
            if r[:2] == b"\x00\x63":
                break
        return True
    finally:
        u.close()


def write_provisioned_fs(fs, broker_port=1883):
    os.makedirs(fs, exist_ok=True)
    with open(os.path.join(fs, "secrets.json"), "w") as f:
        json.dump({"portal_psk": PORTAL_PSK}, f)
    with open(os.path.join(fs, "identity.json"), "w") as f:
        json.dump({"node_id": "pump-09"}, f)


def wait_port(port, timeout=20):
    return wait_listening(port, timeout)


def test_portal_survives_1000_fuzzed_and_oversize_requests_then_provisions(tmp_path):
    fs = str(tmp_path / "fs")
    write_provisioned_fs(fs)
    port = free_port()
    dport = free_port()
    path = tmp_path / "serve.py"
    path.write_text(SERVE_SCRIPT)
    proc = subprocess.Popen([MPY, str(path), str(port), "1006", str(dport)], cwd=fs, env=mpy_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_port(port), "portal did not listen"
        # wait_port's probe connection counts as one request (answered 400)
        cases = fuzz_cases(1000, portal_token(port))
        codes = {}
        for i, (req, allowed) in enumerate(cases):
            code, body = request(port, req)
            codes[code] = codes.get(code, 0) + 1
            assert code in allowed, (i, req[:120], code, body[:200])
            assert proc.poll() is None, "portal died at request %d: %r" % (i, req[:120])
        assert codes.get(400, 0) > 600 and codes.get(422, 0) > 20 and codes.get(403, 0) >= 3, codes
        assert dns_check(dport)
        # a client trickling bytes is cut off by the per-request bound, not served forever
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        t0 = time.time()
        got = b""
        try:
            for ch in b"GET / HTTP/1.1\r\nX-Slow: " + b"a" * 40:
                s.send(bytes([ch]))
                time.sleep(0.1)
                s.settimeout(0.001)
                try:
                    got = s.recv(200)
                    break
                except (socket.timeout, BlockingIOError):
                    pass
                finally:
                    s.settimeout(5)
        except OSError:
            pass
        finally:
            s.close()
        assert got.startswith(b"HTTP/1.1 400") and time.time() - t0 < 3.5, got
        code, body = request(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert code == 200 and b"<form" in body and b"pump-07" in body
        form = "name=Pump+7+DE&ssid1=plant&psk1=%s&host=127.0.0.1&port=1883" % WIFI_PSK
        code, body = submit(port, form)
        assert code == 200 and b"restarts" in body, body
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    res = json.loads([ln for ln in out.splitlines() if ln.startswith("RESULT ")][0][7:])
    assert res["saved"] is True and res["served"] >= 2 and res["dns"] >= 3
    # app.py drops portal.MODULES after the portal ran: nothing else it loaded stays but what a node keeps anyway
    assert set(res["left"]) <= {"vibenode.log", "vibenode.offline", "store", "store.atomic"}, res["left"]
    assert "vibenode.portal" in res["drops"]
    cfg = json.load(open(os.path.join(fs, "config.json")))
    sec = json.load(open(os.path.join(fs, "secrets.json")))
    assert cfg["node_id"] == "pump-07" and cfg["name"] == "Pump 7 DE"
    assert cfg["wifi"]["networks"] == [{"ssid": "plant"}] and cfg["mqtt"] == {"host": "127.0.0.1", "port": 1883}
    assert sec == {"portal_psk": PORTAL_PSK, "wifi": {"plant": WIFI_PSK}}  # the label passphrase is kept
    assert WIFI_PSK not in out and PORTAL_PSK not in out


def test_unprovisioned_node_never_talks_mqtt_and_the_portal_provisions_it(broker, tmp_path, monkeypatch):
    fs = str(tmp_path / "fs")
    write_provisioned_fs(fs)
    port = free_port()
    monkeypatch.setenv("VIBENODE_PORTAL_PORT", str(port))
    sub = Subscriber(broker.port)
    time.sleep(0.2)
    conns0 = open(os.path.join(broker.dir, "broker.log"), "rb").read().decode().count("New connection")
    node = start_node(fs, cycles=8)
    try:
        assert wait_port(port), "no portal"
        code, body = request(port, b"GET / HTTP/1.1\r\n\r\n")
        assert code == 200 and b"vibenode pump-09" in body
        time.sleep(0.5)
        log_before = open(os.path.join(broker.dir, "broker.log"), "rb").read().decode()
        assert log_before.count("New connection") == conns0, log_before  # not one TCP connection from the node
        assert not [m for m in sub.msgs if "pump-09" in m[0]]
        form = "name=Pump+9&ssid1=plant&psk1=%s&host=127.0.0.1&port=%d" % (WIFI_PSK, broker.port)
        code, body = submit(port, form)
        assert code == 200, body
        out, _ = node.communicate(timeout=90)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert node.returncode == 0, out
    assert "provisioning mode" in out and "access point vibenode-pump-09" in out
    assert "hostboot: reset" in out  # saved, then rebooted into normal mode
    tel = sub.wait_for(lambda m: m[0] == "vibenode/default/pump-09/telemetry", timeout=20)
    status = [m for m in sub.msgs if m[0].endswith("pump-09/status")]
    sub.close()
    assert tel is not None, out
    blob = out + open(os.path.join(broker.dir, "broker.log"), "rb").read().decode() + repr(status)
    for s in (WIFI_PSK, PORTAL_PSK):
        assert s not in blob
    assert json.load(open(os.path.join(fs, "config.json")))["name"] == "Pump 9"


def test_no_passphrase_no_access_point_no_mqtt(broker, tmp_path):
    """Empty filesystem, and a config naming the broker that fails validation with no last good
    copy: both stay off MQTT; with no per-device passphrase there is no access point either."""
    time.sleep(0.2)
    conns0 = open(os.path.join(broker.dir, "broker.log"), "rb").read().decode().count("New connection")
    empty = tmp_path / "empty"
    empty.mkdir()
    invalid = tmp_path / "invalid"
    invalid.mkdir()
    (invalid / "config.json").write_text(json.dumps({"node_id": "pump-03", "mqtt": {"host": "127.0.0.1",
                                                     "port": broker.port}, "sampling": {"window": 1000}}))
    badca = tmp_path / "badca"  # valid config, but its CA file is garbage: never fall back to plaintext
    badca.mkdir()
    (badca / "config.json").write_text(json.dumps({"node_id": "pump-04", "tls": {"enabled": True, "cert": None},
                                                   "mqtt": {"host": "127.0.0.1", "port": broker.port}}))
    (badca / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    outs = []
    for fs in (empty, invalid, badca):
        node = start_node(str(fs), cycles=3)
        out, _ = node.communicate(timeout=60)
        assert node.returncode == 0, out
        assert "provisioning mode" in out and "no portal passphrase" in out and "no access point" in out
        outs.append(out)
    assert "not provisioned" in outs[0]
    assert "sampling.window" in outs[1]
    assert "tls.ca: ca.pem is not a usable CA certificate" in outs[2]
    time.sleep(0.3)
    log = open(os.path.join(broker.dir, "broker.log"), "rb").read().decode()
    assert log.count("New connection") == conns0, log


PORTAL_TIMEOUT_SCRIPT = r"""
import json, os, network
from vibenode import config, portal
cfg = config.load()
cfg["portal"]["timeout_s"] = 1   # the schema's minimum is 30 s; the bound itself is what is tested
open(portal.REQUEST_FILE, "w").write("")
assert portal.requested()
ap = network.WLAN(network.AP_IF)
seen = {}
orig = portal.start_ap
def spy(nid, psk):
    a = orig(nid, psk)
    seen["essid"] = a.config("essid"); seen["password_is_label"] = a.config("password") == psk
    seen["authmode"] = a.config("authmode"); seen["active"] = a.active()
    return a
portal.start_ap = spy
p = portal.run(cfg)
print("RESULT " + json.dumps({"returned": p is not None, "saved": p.saved, "request_left": portal.requested(),
                              "ap_active_after": ap.active(), "seen": seen, "wpa2": network.AUTH_WPA2_PSK}))
"""


def test_requested_portal_times_out_back_to_normal_mode(tmp_path):
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "config.json").write_text(json.dumps({"node_id": "pump-07", "mqtt": {"host": "127.0.0.1"}}))
    (fs / "secrets.json").write_text(json.dumps({"portal_psk": PORTAL_PSK}))
    env_port = free_port()
    os.environ["VIBENODE_PORTAL_PORT"] = str(env_port)
    try:
        t0 = time.time()
        r = mpy_result(PORTAL_TIMEOUT_SCRIPT, cwd=str(fs))
        took = time.time() - t0
    finally:
        del os.environ["VIBENODE_PORTAL_PORT"]
    assert r["returned"] and not r["saved"] and not r["request_left"] and not r["ap_active_after"]
    assert r["seen"] == {"essid": "vibenode-pump-07", "password_is_label": True, "authmode": r["wpa2"],
                         "active": True}
    assert took < 20


OFFLINE_SCRIPT = r"""
import json, machine
from vibenode import config, portal
from simclock import SimClock
cfg = config.load()
clock = SimClock()
w = portal.OfflineWatch(cfg, clock)
out = {"armed": w.armed}
clock.sleep_ms(800 * 1000)
out["at_800s"] = w.check(False)
w.check(True)                      # the link came up: the count starts again
clock.sleep_ms(800 * 1000)
out["at_1600s_after_up"] = w.check(False)
clock.sleep_ms(101 * 1000)
try:
    w.check(False)
    out["reset"] = False
except machine.ResetRequested:
    out["reset"] = True
out["requested"] = portal.requested()
print("RESULT " + json.dumps(out))
"""


def test_offline_node_offers_the_portal(tmp_path):
    """A node whose valid config cannot get it online (wrong Wi-Fi or broker typed in the field)
    requests the portal after portal.offline_s and resets; that boot serves it with a time bound."""
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "config.json").write_text(json.dumps({"node_id": "pump-07", "mqtt": {"host": "127.0.0.1"}}))
    (fs / "secrets.json").write_text(json.dumps({"portal_psk": PORTAL_PSK}))
    r = mpy_result(OFFLINE_SCRIPT, cwd=str(fs))
    assert r == {"armed": True, "at_800s": False, "at_1600s_after_up": False, "reset": True, "requested": True}
    os.remove(fs / "portal.req")
    (fs / "secrets.json").write_text("{}")  # no passphrase: no portal, never reset for it
    r = mpy_result(OFFLINE_SCRIPT, cwd=str(fs))
    assert r["armed"] is False and r["reset"] is False and r["requested"] is False


def test_field_fix_of_a_wrong_broker_through_the_offered_portal(broker, tmp_path, monkeypatch):
    """The whole field story: a node provisioned with a wrong broker port stays offline, offers the
    portal after portal.offline_s, the technician corrects the port from a phone, and it reports."""
    fs = tmp_path / "fs"
    fs.mkdir()
    dead = free_port()
    (fs / "config.json").write_text(json.dumps({
        "node_id": "pump-40", "mqtt": {"host": "127.0.0.1", "port": dead}, "portal": {"offline_s": 60},
        "wifi": {"networks": [{"ssid": "plant"}]},
        "sampling": {"rate": 3200, "range_g": 16, "window": 256, "interval_s": 5}}))
    (fs / "secrets.json").write_text(json.dumps({"portal_psk": PORTAL_PSK, "wifi": {"plant": WIFI_PSK}}))
    port = free_port()
    monkeypatch.setenv("VIBENODE_PORTAL_PORT", str(port))
    sub = Subscriber(broker.port)
    node = start_node(str(fs), cycles=20)
    try:
        assert wait_port(port, timeout=60), "the offline node never offered the portal"
        code, body = submit(port, "ssid1=plant&psk1=%s&host=127.0.0.1&port=%d" % (WIFI_PSK, broker.port))
        assert code == 200, body
        out, _ = node.communicate(timeout=120)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
    assert "offline for 60 s: opening the provisioning portal" in out, out
    assert out.count("hostboot: reset") == 2  # offline -> portal, saved -> normal mode
    assert sub.wait_for(lambda m: m[0] == "vibenode/default/pump-40/telemetry", timeout=20), out
    sub.close()
    assert WIFI_PSK not in out and PORTAL_PSK not in out


def test_portal_port_in_use_is_reported_not_a_crash(tmp_path, monkeypatch):
    fs = tmp_path / "fs"
    fs.mkdir()
    (fs / "config.json").write_text(json.dumps({"node_id": "pump-07", "mqtt": {"host": "127.0.0.1"}}))
    (fs / "secrets.json").write_text(json.dumps({"portal_psk": PORTAL_PSK}))
    busy = socket.socket()
    busy.bind(("0.0.0.0", 0))
    busy.listen(1)
    monkeypatch.setenv("VIBENODE_PORTAL_PORT", str(busy.getsockname()[1]))
    try:
        r = mpy_result("import json, network\nfrom vibenode import config, portal\n"
                       "p = portal.run(config.load())\n"
                       "print('RESULT ' + json.dumps([p is None, network.WLAN(network.AP_IF).active()]))\n",
                       cwd=str(fs))
    finally:
        busy.close()
    assert r == [True, False]


def test_the_portal_names_the_node_by_identity_then_config_then_chip(tmp_path):
    """The AP of a node without a usable config: identity.json's id, else the one config.json or
    the last good copy names (even when they fail validation), else the chip's unique id."""
    fs = tmp_path / "fs"
    fs.mkdir()
    script = "import json\nfrom vibenode import portal\nprint('RESULT ' + json.dumps(portal.node_id()))\n"
    chip = mpy_result(script, cwd=str(fs))
    assert re.fullmatch(r"vn-[0-9a-f]{8,}", chip), chip
    (fs / "config.json").write_text(json.dumps({"node_id": "pump-33", "pad": "x" * 17000}))  # too big: not ours
    assert mpy_result(script, cwd=str(fs)) == chip
    (fs / "config.good.json").write_text(json.dumps({"node_id": "pump-32"}))
    assert mpy_result(script, cwd=str(fs)) == "pump-32"
    (fs / "config.json").write_text(json.dumps({"node_id": "pump 31!", "sampling": {"window": 1000}}))
    assert mpy_result(script, cwd=str(fs)) == "pump-32"  # not a valid id
    (fs / "config.json").write_text(json.dumps({"node_id": "pump-31", "sampling": {"window": 1000}}))
    assert mpy_result(script, cwd=str(fs)) == "pump-31"  # an invalid config still names the node
    (fs / "identity.json").write_text(json.dumps({"node_id": "pump-30"}))
    assert mpy_result(script, cwd=str(fs)) == "pump-30"
