"""Transport security against a real Mosquitto configured by tools/fleet.py (generated PKI).

The node side is the real thing: lib/link/tls.py builds the SSLContext of MicroPython's built-in
`tls` module, lib/link/mqtt.py (the node's own MQTT client, lib/link/mqttproto.py) wraps its socket
with it on the MicroPython unix port exactly as on a device. A recording TCP proxy sits between node and broker
so every byte the node sends is checked: TLS records only, never a plaintext MQTT packet."""
import datetime
import json
import os
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import MOSQUITTO, Broker, free_port, mpy_result

import fleet as fleetmod

UTC = datetime.timezone.utc


# ---- helpers shared with the other provisioning tests ---------------------------------------
class TlsBroker(Broker):
    """Mosquitto started with the config tools/fleet.py emits (nothing added)."""

    def __init__(self, fleet, server, port=None):
        import getpass
        self.port = port or free_port()
        self.dir = os.path.join(fleet.dir, "broker-%s-%d" % (server, self.port))
        self.conf = fleet.mosquitto(self.dir, port=self.port, bind="127.0.0.1", server=server,
                                    run_as=getpass.getuser())
        self.proc = None
        self.start()

    def log_text(self):
        self.log.flush()
        with open(os.path.join(self.dir, "broker.log"), "rb") as f:
            return f.read().decode(errors="replace")


def make_fleet(path):
    """CA + broker certs (good, expired, wrong name) + nodes a, b, r (revoked) + operator; and a
    rogue CA that the broker does not know."""
    f = fleetmod.Fleet(path)
    f.init(name="test fleet CA")
    f.issue_server("localhost", ips=["127.0.0.1"])
    now = datetime.datetime.now(UTC)
    f.issue_server("localhost", name="expired", not_before=now - datetime.timedelta(days=30),
                   not_after=now - datetime.timedelta(days=1))
    f.issue_server("broker.example.net", name="wrongname")
    for n in ("node-a", "node-b", "node-r"):
        f.issue(n, "plant1")
    f.issue("ops", "", role="operator")
    f.issue("node-x", "plant1", not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1))  # an expired client certificate
    # a stolen node key whose CN equals the broker's name, put up as a fake broker (clientAuth only)
    f.issue("localhost", "plant1")
    for ext in (".pem", ".key"):
        with open(f.p("nodes", "localhost", "client" + ext), "rb") as src:
            open(f.p("server", "nodecert" + ext), "wb").write(src.read())
    with open(f.p("nodes", "node-r", "client.key"), "rb") as src:  # what a thief would hold
        open(os.path.join(path, "node-r.key.stolen"), "wb").write(src.read())
    f.revoke("node-r", reason="keyCompromise")
    rogue = fleetmod.Fleet(os.path.join(path, "rogue"))
    rogue.init(name="rogue CA")
    rogue.issue_server("localhost", ips=["127.0.0.1"])
    rogue.issue("node-a", "plant1")
    return f, rogue


class Proxy:
    """Loopback TCP proxy that records what clients send (one bytearray per connection)."""

    def __init__(self, target_port):
        self.target = target_port
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(8)
        self.port = self.srv.getsockname()[1]
        self.sent = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            rec = bytearray()
            self.sent.append(rec)
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            threading.Thread(target=self._pump, args=(c, u, rec), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, None), daemon=True).start()

    @staticmethod
    def _pump(a, b, rec):
        try:
            while True:
                d = a.recv(4096)
                if not d:
                    break
                if rec is not None:
                    rec.extend(d)
                b.sendall(d)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.stop = True
        self.srv.close()


class OpsClient:
    """The operator's paho client over mutual TLS (cert CN 'ops')."""

    def __init__(self, fleet, port, topic="vibenode/#"):
        import paho.mqtt.client as mqtt
        d = fleet.p("nodes", "ops")
        self.msgs = []
        self.subscribed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ops-%d" % os.getpid())
        self.c.tls_set(ca_certs=fleet.p("ca.pem"), certfile=os.path.join(d, "client.pem"),
                       keyfile=os.path.join(d, "client.key"))
        self.c.on_message = lambda c, u, m: self.msgs.append((m.topic, m.payload))
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.c.connect("localhost", port)
        self.c.loop_start()
        assert self.subscribed.wait(10), "operator could not subscribe over mTLS"

    def publish(self, topic, payload, retain=False):
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait_for(self, pred, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in list(self.msgs):
                if pred(m):
                    return m
            time.sleep(0.02)
        return None

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def node_fs(tmp, fleet, node, ca_from=None):
    """A node filesystem with ca.pem, client.pem and the key (as secrets would hold it)."""
    os.makedirs(tmp, exist_ok=True)
    src = ca_from or fleet
    with open(src.p("ca.pem"), "rb") as f:
        open(os.path.join(tmp, "ca.pem"), "wb").write(f.read())
    if node:
        d = fleet.p("nodes", node)
        open(os.path.join(tmp, "client.pem"), "wb").write(open(os.path.join(d, "client.pem"), "rb").read())
        return open(os.path.join(d, "client.key")).read()
    return None


# one MicroPython process runs a list of connection attempts; each prints its outcome
LINK_SCRIPT = r"""
import json, sys
from link import tls
from link.mqtt import MqttLink
from simclock import SimClock
cases = json.loads(open(sys.argv[1]).read())
out = []
for c in cases:
    res = {"name": c["name"]}
    try:
        cfg = {"tls": {"enabled": c["tls"], "ca": "ca.pem", "cert": "client.pem" if c.get("key") else None,
                       "key": c.get("key")}}
        ctx = tls.context(cfg)
        l = MqttLink(c["client_id"], c["host"], c["port"], SimClock(), ssl=ctx, timeout_s=5, keepalive=30,
                   backoff_min_ms=0)  # a refused subscribe: reconnect at once
        res["up"] = l.connect()
        res["error"] = l.last_error
        if res["up"]:
            got = []
            l.on_msg = lambda t, m, *a: got.append(t.decode() if isinstance(t, bytes) else t)
            for t in c.get("publish", []):
                res.setdefault("published", []).append(l.publish(t, "from " + c["client_id"], qos=1))
            for t in c.get("subscribe", []):
                ok = l.subscribe(t, 1)
                res.setdefault("subscribed", []).append(ok)
                if not ok:
                    l.connect()
            if c.get("listen"):
                import time
                if c.get("ready"):
                    l.publish(c["ready"], "ready", qos=1)  # subscriptions are in place
                t0 = time.ticks_ms()
                while time.ticks_diff(time.ticks_ms(), t0) < c["listen"] * 1000:
                    l.service()
                    if c.get("until") in got:
                        break
                    time.sleep_ms(20)
            res["received"] = got
            res["after"] = [l.up, l.last_error, l.connects]
            l.disconnect()
    except Exception as e:
        res["up"] = False
        res["error"] = "%s: %s" % (type(e).__name__, e)
    out.append(res)
print("RESULT " + json.dumps(out))
"""


def run_links(fs, cases, timeout=60):
    path = os.path.join(fs, "cases.json")
    with open(path, "w") as f:
        json.dump(cases, f)
    return {r["name"]: r for r in mpy_result(LINK_SCRIPT, cwd=fs, args=[path], timeout=timeout)}


def assert_no_plaintext_mqtt(rec):
    """Every byte the client sent is TLS: records start with a handshake, no MQTT CONNECT in clear."""
    assert len(rec) > 0, "the client sent nothing"
    assert rec[0] == 0x16 and rec[1] == 0x03, "first record is not a TLS handshake: %r" % bytes(rec[:8])
    assert b"\x00\x04MQTT" not in rec, "plaintext MQTT CONNECT on the wire"
    # walk the TLS record layer: type, version, length - it must cover the whole stream
    i = 0
    while i + 5 <= len(rec):
        assert rec[i] in (0x14, 0x15, 0x16, 0x17), "non-TLS record type 0x%02x at %d" % (rec[i], i)
        i += 5 + (rec[i + 3] << 8 | rec[i + 4])
    assert i >= len(rec)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    f, rogue = make_fleet(str(tmp_path_factory.mktemp("fleet")))
    good = TlsBroker(f, "localhost")
    expired = TlsBroker(f, "expired")
    wrongname = TlsBroker(f, "wrongname")
    fake = TlsBroker(f, "nodecert")
    yield f, rogue, good, expired, wrongname, fake
    for b in (good, expired, wrongname, fake):
        b.stop()


# ---- tests ----------------------------------------------------------------------------------
def test_fleet_emits_least_privilege_broker_config(pki):
    f, rogue, good = pki[:3]
    conf = open(good.conf).read()
    for line in ("require_certificate true", "use_identity_as_username true", "allow_anonymous false",
                 "crlfile ", "tls_version tlsv1.2"):
        assert line in conf
    assert "ca.key" not in conf and not os.path.exists(os.path.join(good.dir, "ca.key"))
    acl = open(os.path.join(good.dir, "acl")).read()
    assert "user node-a\ntopic write vibenode/plant1/node-a/#\ntopic read vibenode/plant1/node-a/cmd\n" in acl
    assert "node-r" not in acl  # revoked: no rights at all
    assert "pattern" not in acl and "topic read vibenode/#" in acl.split("user ops")[1]
    inv = {e["id"]: e for e in json.load(open(f.p("inventory.json")))}
    assert inv["node-r"]["status"] == "revoked" and inv["node-a"]["status"] == "active"
    # the CRL is signed by the CA and lists exactly the revoked serial
    from cryptography import x509
    crl = x509.load_pem_x509_crl(open(f.p("crl.pem"), "rb").read())
    ca = x509.load_pem_x509_certificate(open(f.p("ca.pem"), "rb").read())
    assert crl.is_signature_valid(ca.public_key())
    assert [r.serial_number for r in crl] == [int(inv["node-r"]["serial"], 16)]
    cert = x509.load_pem_x509_certificate(open(f.p("nodes", "node-a", "client.pem"), "rb").read())
    assert cert.subject.rfc4514_string() == "CN=node-a" and "%x" % cert.serial_number == inv["node-a"]["serial"]
    cert.verify_directly_issued_by(ca)
    assert oct(os.stat(f.p("ca.key")).st_mode & 0o777) == "0o600"
    assert not os.path.exists(f.p("nodes", "node-r", "client.key"))  # no usable key kept for a revoked cert


def test_valid_chain_connects_with_mtls_and_nothing_is_plaintext(pki, tmp_path):
    f, rogue, good = pki[:3]
    fs = str(tmp_path)
    key = node_fs(fs, f, "node-a")
    prx = Proxy(good.port)
    ops = OpsClient(f, good.port)
    try:
        r = run_links(fs, [{"name": "ok", "tls": True, "key": key, "client_id": "node-a", "host": "localhost",
                            "port": prx.port, "publish": ["vibenode/plant1/node-a/status"]}])["ok"]
        assert r["up"], r
        assert r["published"] == [True]
        m = ops.wait_for(lambda m: m[0] == "vibenode/plant1/node-a/status")
        assert m is not None and m[1] == b"from node-a"
    finally:
        ops.close()
        prx.close()
    assert len(prx.sent) == 1
    assert_no_plaintext_mqtt(prx.sent[0])
    assert "as node-a (" in good.log_text() and "u'node-a'" in good.log_text()  # identity = certificate CN


def test_bad_chains_and_plaintext_are_refused_before_any_mqtt(pki, tmp_path):
    f, rogue, good, expired, wrongname, fake = pki
    key_a = node_fs(str(tmp_path / "a"), f, "node-a")
    node_fs(str(tmp_path / "rogue"), f, "node-a", ca_from=rogue)
    rfs = str(tmp_path / "r")  # the revoked node: its certificate and the key stolen before revocation
    node_fs(rfs, f, None)
    open(os.path.join(rfs, "client.pem"), "wb").write(open(f.p("nodes", "node-r", "client.pem"), "rb").read())
    key_r = open(os.path.join(f.dir, "node-r.key.stolen")).read()
    xfs = str(tmp_path / "x")  # the node with the expired certificate
    key_x = node_fs(xfs, f, "node-x")
    brokers = (("good", good), ("expired", expired), ("wrongname", wrongname), ("fake", fake))
    proxies = {n: Proxy(b.port) for n, b in brokers}
    logs0 = {n: b.log_text() for n, b in brokers}
    try:
        base = {"tls": True, "client_id": "node-a", "host": "localhost", "publish": ["vibenode/plant1/node-a/x"]}
        res = {}
        res.update(run_links(str(tmp_path / "rogue"), [dict(base, name="wrong_ca", key=key_a,
                                                            port=proxies["good"].port)]))
        res.update(run_links(str(tmp_path / "a"), [
            dict(base, name="expired", key=key_a, port=proxies["expired"].port),
            dict(base, name="hostname", key=key_a, port=proxies["wrongname"].port),
            dict(base, name="no_client_cert", key=None, port=proxies["good"].port),
            dict(base, name="node_cert_as_broker", key=key_a, port=proxies["fake"].port)]))
        res.update(run_links(rfs, [dict(base, name="revoked", key=key_r, client_id="node-r",
                                        publish=["vibenode/plant1/node-r/x"], port=proxies["good"].port)]))
        res.update(run_links(xfs, [dict(base, name="expired_client", key=key_x, client_id="node-x",
                                        publish=["vibenode/plant1/node-x/x"], port=proxies["good"].port)]))
        res.update(run_links(str(tmp_path / "a"), [dict(base, name="plaintext", tls=False, key=None,
                                                        port=proxies["good"].port)]))
    finally:
        for p in proxies.values():
            p.close()
    for name in ("wrong_ca", "expired", "hostname", "no_client_cert", "node_cert_as_broker", "revoked",
                 "expired_client", "plaintext"):
        assert res[name]["up"] is False, (name, res[name])
        assert "published" not in res[name]
    # the refusal comes from certificate checks, named in the error
    assert "CERT" in res["wrong_ca"]["error"].upper() or "VERIF" in res["wrong_ca"]["error"].upper()
    assert "CERT" in res["expired"]["error"].upper() or "VERIF" in res["expired"]["error"].upper()
    assert "CERT" in res["hostname"]["error"].upper() or "VERIF" in res["hostname"]["error"].upper()
    assert "CERT" in res["node_cert_as_broker"]["error"].upper()
    # on the wire: TLS only for every TLS attempt, never an MQTT packet in clear
    good_sent = proxies["good"].sent
    assert len(good_sent) == 5  # wrong_ca, no_client_cert, revoked, expired_client, plaintext (in order)
    for rec in good_sent[:4] + proxies["expired"].sent + proxies["wrongname"].sent + proxies["fake"].sent:
        assert_no_plaintext_mqtt(rec)
    assert good_sent[4][:1] == b"\x10"  # the plaintext client's CONNECT...
    # ...and the broker accepted none of them as a client
    for n, b in brokers:
        new = b.log_text()[len(logs0[n]):]
        assert "New client connected" not in new, (n, new)


def test_acl_node_writes_only_its_topics_and_reads_only_its_cmd(pki, tmp_path):
    f, rogue, good = pki[:3]
    fs = str(tmp_path)
    key = node_fs(fs, f, "node-a")
    ops = OpsClient(f, good.port)
    ready = threading.Event()
    result = {}

    def node():
        result.update(run_links(fs, [{
            "name": "a", "tls": True, "key": key, "client_id": "node-a", "host": "localhost", "port": good.port,
            "publish": ["vibenode/plant1/node-b/telemetry", "vibenode/plant1/node-b/status",
                        "vibenode/plant1/node-a/telemetry"],
            "subscribe": ["vibenode/plant1/node-b/cmd", "vibenode/plant1/node-a/cmd"], "listen": 30,
            "ready": "vibenode/plant1/node-a/ready", "until": "vibenode/plant1/node-a/cmd"}]))
        ready.set()

    th = threading.Thread(target=node)
    th.start()
    try:
        # own telemetry arrives (published last): B's would have arrived before it
        assert ops.wait_for(lambda m: m[0] == "vibenode/plant1/node-a/telemetry", timeout=20), ops.msgs
        assert ops.wait_for(lambda m: m[0] == "vibenode/plant1/node-a/ready", timeout=20), ops.msgs
        # B's cmd first: if the broker let A read it, it would reach A before A's own (which ends the wait)
        ops.publish("vibenode/plant1/node-b/cmd", b'{"op":"for-b"}')
        ops.publish("vibenode/plant1/node-a/cmd", b'{"op":"for-a"}')
        th.join(60)
    finally:
        ops.close()
    r = result["a"]
    assert r["up"], r
    topics = [t for t, p in ops.msgs]
    assert "vibenode/plant1/node-b/telemetry" not in topics and "vibenode/plant1/node-b/status" not in topics
    assert r["received"] == ["vibenode/plant1/node-a/cmd"], r  # its own cmd only (positive control)
