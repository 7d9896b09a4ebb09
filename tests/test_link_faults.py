"""The node against a scripted fake broker that misbehaves in one precise way per connection:
refused / malformed / truncated CONNACK, a 5-byte remaining length, a truncated PUBACK, a
PUBACK of the wrong length, an oversized (268 MB) PUBLISH cut off, a connection closed in the
middle of a packet, a broker that accepts TCP and never answers, one silent after CONNECT, one
that stops mid-CONNACK, one that never sends PUBACK, one that stops answering PINGREQ - plain
and over TLS. The node must contain every one (reconnect with backoff), keep measuring, and
deliver every reading, in order, once a correct broker answers; each connect attempt and each
PUBACK wait gives up within the configured timeout (measured in wall time)."""
import json
import os
import re
import subprocess

import pytest

from conftest import MPY, ROOT, mpy_env, node_config, start_node, write_fs
from netfaults import FakeBroker

import fleet as fleetmod

FAULTS = ["connack_refused", "bad_connack_type", "connack_truncated", "garbage_after_connack",
          "puback_truncated", "puback_wrong_length", "oversized_remaining_length", "close_mid_publish",
          "connack_silent", "tcp_silent", "connack_stalled", "no_puback"]


def fault_config(port, **over):
    cfg = node_config(port, **over)
    cfg["mqtt"]["timeout_s"] = 1
    cfg["mqtt"]["keepalive"] = 4
    cfg["sampling"]["window"] = 256
    cfg["link"] = {"backoff_min_s": 0.2, "backoff_max_s": 2}
    return cfg


def test_fake_broker_faults_contained_and_nothing_lost(tmp_path):
    fb = FakeBroker(FAULTS + ["good"])
    try:
        cycles = 60
        fs = write_fs(str(tmp_path / "fs"), fault_config(fb.port))
        node = start_node(fs, cycles=cycles)
        out, _ = node.communicate(timeout=120)
        assert node.returncode == 0, out[-4000:]
        scripts = [c[0] for c in fb.connects]
        assert scripts[:len(FAULTS)] == FAULTS, scripts  # every fault was met, in turn
        assert "good" in scripts
        assert all(c[1] == "sim-0001" for c in fb.connects if c[0] != "tcp_silent")  # client id = node id
        tel = [json.loads(p) for t, p, q, r in fb.published if t.endswith("/telemetry")]
        seqs = [m["seq"] for m in tel]
        # every reading measured during the faults arrived, in order, each once
        assert seqs == list(range(1, cycles + 1)), seqs
        assert all(q == 1 for t, p, q, r in fb.published if t.endswith("/telemetry"))
        assert any(m.get("replayed") for m in tel) and not tel[-1].get("replayed")
        # each fault is named in the node's log
        for pat in ("connect: MqttError CONNACK: connection refused, code 5", "connect: ProtocolError expected CONNACK",
                    "ProtocolError remaining length over 4 bytes", "oversized PUBLISH 268435448 bytes on b.hello.: drained",
                    "PUBACK length 3", "closed mid-packet", "publish: OSError.*ETIMEDOUT.*no PUBACK"):
            assert re.search(pat, out), (pat, out[-3000:])
        # silent after TCP accept, silent after CONNECT, stopped mid-CONNACK: each attempt timed out
        assert len(re.findall("link: connect: OSError.*ETIMEDOUT.*no CONNACK", out)) == 3, out[-3000:]
        assert fb.unacked  # the unacknowledged reading was sent, then delivered again (seqs above)
        status = [json.loads(p) for t, p, q, r in fb.published if t.endswith("/status")]
        assert status and status[0]["state"] == "online" and fb.published[0][3]  # retained birth
    finally:
        fb.close()


def _log_times(out, pat):
    return [float(m.group(1)) for m in re.finditer(r"\[(\d+\.\d+)\] " + pat, out)]


def test_half_open_link_found_by_unanswered_ping(tmp_path):
    """A broker that acknowledges publishes but never answers PINGREQ (what a half-open TCP
    link looks like once the node idles): found within 1.5 x keepalive of the last packet
    heard, then a fresh session delivers the next readings."""
    fb = FakeBroker(["no_pingresp", "good"])
    try:
        cfg = fault_config(fb.port)
        cfg["mqtt"]["keepalive"] = 4
        cfg["sampling"]["interval_s"] = 20  # idle between readings: only pings keep the session
        fs = write_fs(str(tmp_path / "fs"), cfg)
        node = start_node(fs, cycles=3)
        out, _ = node.communicate(timeout=60)
        assert node.returncode == 0, out[-3000:]
        up = _log_times(out, "link: connected")
        dead = _log_times(out, "link: service: OSError.*half-open")
        assert len(up) >= 2 and dead, out[-3000:]
        # the first session's last packet from the broker was the PUBACK of reading 1, just after
        # it connected; the link is declared dead within 1.5 x keepalive of that
        assert dead[0] - up[0] <= 1.5 * 4 + 0.2, (up, dead)
        tel = [json.loads(p)["seq"] for t, p, q, r in fb.published if t.endswith("/telemetry")]
        assert tel == [2, 3] or tel == [1, 2, 3], tel  # reading 1 went to the first (ack-only) session
    finally:
        fb.close()


class FakeDNS:
    """UDP DNS server on loopback: A records from a dict; `silent` names get no answer."""

    def __init__(self, records, silent=()):
        import socket
        import threading
        self.records = records
        self.silent = set(silent)
        self.queries = []
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        import struct
        while not self.stop:
            try:
                q, addr = self.s.recvfrom(512)
            except OSError:
                continue
            qid = q[:2]
            i = 12
            labels = []
            while q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode())
                i += q[i] + 1
            name = ".".join(labels)
            self.queries.append(name)
            if name in self.silent:
                continue
            question = q[12:i + 5]
            ip = self.records.get(name)
            if ip is None:
                self.s.sendto(qid + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + question, addr)  # NXDOMAIN
                continue
            ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes(int(x) for x in ip.split("."))
            # a CNAME-less answer after an unrelated AAAA record, to exercise the parser
            aaaa = b"\xc0\x0c" + struct.pack("!HHIH", 28, 1, 60, 16) + b"\x00" * 16
            self.s.sendto(qid + b"\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00" + question + aaaa + ans, addr)

    def close(self):
        self.stop = True
        self.t.join(1)
        self.s.close()


def test_broker_name_resolved_each_attempt_with_a_timeout(tmp_path):
    """mqtt.host is a name, looked up by the node's own DNS client (link.dns) once per connect
    attempt: a silent DNS server costs one timeout per attempt (the node keeps measuring), an
    unknown name fails fast, and once the name resolves the readings flow through the broker."""
    fb = FakeBroker(["good"])
    dns = FakeDNS({"broker.plant.test": "127.0.0.1"}, silent={"silent.plant.test"})
    try:
        for host, ok in (("silent.plant.test", False), ("nope.plant.test", False), ("broker.plant.test", True)):
            cfg = fault_config(fb.port)
            cfg["mqtt"]["host"] = host
            cfg["tls"] = {"enabled": False}
            cfg["link"]["dns"] = "127.0.0.1:%d" % dns.port
            fs = write_fs(str(tmp_path / host), cfg)
            node = start_node(fs, cycles=5)
            out, _ = node.communicate(timeout=60)
            assert node.returncode == 0, out[-2000:]
            attempts = out.count("link: connect:") + out.count("link: connected")
            assert dns.queries.count(host) == attempts >= 1, (dns.queries, out[-1500:])  # once per attempt
            if ok:
                assert "link: connected" in out
            else:
                assert "connected" not in out and out.count("not delivered") == 5, out[-1500:]
                assert ("DNS: no answer" in out) if host.startswith("silent") else ("error code 3" in out), out[-1500:]
        tel = [json.loads(p)["seq"] for t, p, q, r in fb.published if t.endswith("/telemetry")]
        assert tel == [1, 2, 3, 4, 5]
    finally:
        dns.close()
        fb.close()


@pytest.fixture(scope="module")
def server_cert(tmp_path_factory):
    """CA and a broker certificate for localhost (tools/fleet.py): (ca.pem, cert, key)."""
    f = fleetmod.Fleet(str(tmp_path_factory.mktemp("fleet")))
    f.init(name="fault test CA")
    cert, key = f.issue_server("localhost", ips=["127.0.0.1"])
    return f.p("ca.pem"), cert, key


SILENT = ["tcp_silent", "connack_silent", "connack_stalled"]
_SLACK_MS = 400  # scheduling slack on a shared 2-core machine (measured idle: within a few ms of the timeout)


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_silent_stalled_and_unacking_brokers_give_up_within_the_timeout(mode, server_cert, tmp_path):
    """Wall time, on the real interpreter: a broker that accepts TCP and never answers (not even
    the TLS handshake), one that never answers CONNECT, one that stops mid-CONNACK: connect()
    returns False within timeout_s; one that never sends PUBACK: publish(qos=1) returns False
    within timeout_s (having resent once with DUP)."""
    ca, cert, key = server_cert
    fb = FakeBroker(SILENT + ["no_puback"], tls=(cert, key) if mode == "tls" else None)
    fs = str(tmp_path)
    open(os.path.join(fs, "ca.pem"), "wb").write(open(ca, "rb").read())
    timeout_s = 1.0
    try:
        r = subprocess.run([MPY, os.path.join(ROOT, "tests", "mpy", "linkfaults.py"), str(fb.port), str(timeout_s),
                            mode, "connect", "connect", "connect", "publish"], cwd=fs, env=mpy_env(),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        res = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
    finally:
        fb.close()
    assert [c[0] for c in fb.connects] == SILENT + ["no_puback"], fb.connects
    for script, c in zip(SILENT, res[:3]):
        assert c["up"] is False and "ETIMEDOUT" in c["error"], (script, c)
        stage = "TLS handshake" if mode == "tls" and script == "tcp_silent" else "CONNACK"
        assert stage in c["error"], (script, c)
        assert 0.9 * timeout_s * 1000 <= c["connect_ms"] <= timeout_s * 1000 + _SLACK_MS, (script, c)
    p = res[3]
    assert p["up"] is True and p["connect_ms"] < timeout_s * 1000, p
    assert p["published"] is False and "no PUBACK" in p["error"], p
    assert 0.9 * timeout_s * 1000 <= p["publish_ms"] <= timeout_s * 1000 + _SLACK_MS, p
    assert len(fb.unacked) == 2  # sent, then resent once (DUP) before giving up


def test_tls_node_keeps_measuring_through_silent_and_unacking_brokers(server_cert, tmp_path):
    """The whole node over TLS against the same three silent brokers and one that never sends
    PUBACK, then a correct one: every reading measured meanwhile arrives, in order, once."""
    ca, cert, key = server_cert
    fb = FakeBroker(SILENT + ["no_puback", "good"], tls=(cert, key))
    try:
        cycles = 30
        cfg = fault_config(fb.port)
        cfg["mqtt"]["host"] = "localhost"
        cfg["tls"] = {"enabled": True, "ca": "ca.pem", "cert": None}  # (the fake broker asks for no client cert)
        fs = write_fs(str(tmp_path / "fs"), cfg)
        open(os.path.join(fs, "ca.pem"), "wb").write(open(ca, "rb").read())
        node = start_node(fs, cycles=cycles)
        out, _ = node.communicate(timeout=120)
        assert node.returncode == 0, out[-4000:]
        assert [c[0] for c in fb.connects][:5] == SILENT + ["no_puback", "good"], (fb.connects, out[-3000:])
        assert len(re.findall("link: connect: OSError.*ETIMEDOUT.*no (TLS handshake|CONNACK)", out)) == 3, out[-3000:]
        assert re.search("publish: OSError.*ETIMEDOUT.*no PUBACK", out), out[-3000:]
        seqs = [json.loads(p)["seq"] for t, p, q, r in fb.published if t.endswith("/telemetry")]
        assert seqs == list(range(1, cycles + 1)), seqs
        assert fb.unacked  # what the unacking broker swallowed was delivered again
    finally:
        fb.close()
