"""tools/provision.py and tools/fleet.py as a technician runs them: render a node (--out) that the
host board boots over mutual TLS, write one to a MicroPython device through the real mpremote (the
unix port speaking the raw REPL on a pty), and clear errors for everything that can go wrong."""
import csv
import hashlib
import json
import os
import pty
import subprocess
import sys
import threading
import time
import tty

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import MPY, ROOT, mpy_env, start_node
from test_tls import OpsClient, TlsBroker

import fleet as fleetmod

PY = sys.executable
WIFI_PSK = "Plant-WiFi-Secret-58"


def run(tool, *args, timeout=60):
    import tempfile
    return subprocess.run([PY, os.path.join(ROOT, "tools", tool)] + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=tempfile.gettempdir(),  # a stray labels.csv never lands in the repo
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A fleet (CA, broker cert for localhost, broker running its emitted config) and site files."""
    d = tmp_path_factory.mktemp("prov")
    fl = str(d / "fleet")
    assert run("fleet.py", "--dir", fl, "init").returncode == 0
    r = run("fleet.py", "--dir", fl, "server", "localhost", "--ip", "127.0.0.1")
    assert r.returncode == 0, r.stderr
    assert run("fleet.py", "--dir", fl, "issue", "ops", "--role", "operator").returncode == 0
    f = fleetmod.Fleet(fl)
    broker = TlsBroker(f, "localhost")
    s = {"site": "plant1", "mqtt": {"host": "localhost", "port": broker.port, "keepalive": 10},
         "tls": {"enabled": True},  # localhost is loopback: TLS must be asked for explicitly
         "wifi": {"networks": [{"ssid": "plant"}]},
         "sampling": {"rate": 3200, "range_g": 16, "window": 256, "interval_s": 1},
         "board": {"name": "host", "sim": {"imbalance_g": [1.0, 0.0, 0.0], "noise_g": 0.0}}}
    (d / "site.json").write_text(json.dumps(s))
    (d / "secrets.json").write_text(json.dumps({"wifi": {"plant": WIFI_PSK}}))
    yield {"dir": d, "fleet": f, "broker": broker, "site": str(d / "site.json"), "secrets": str(d / "secrets.json")}
    broker.stop()


def test_rendered_node_boots_on_the_host_board_over_mutual_tls(site, tmp_path):
    out = tmp_path / "pump-07"
    label = tmp_path / "labels.csv"
    r = run("provision.py", "--node-id", "pump-07", "--site", site["site"], "--secrets", site["secrets"],
            "--fleet", site["fleet"].dir, "--out", str(out), "--label", str(label))
    assert r.returncode == 0, r.stderr
    # ota.pub: the fleet update key's public half (signed updates, lib/ota)
    assert sorted(os.listdir(out)) == ["ca.pem", "client.pem", "config.json", "ota.pub", "secrets.json"]
    assert (out / "ota.pub").read_bytes() == site["fleet"].update_public()
    assert oct(os.stat(out / "secrets.json").st_mode & 0o777) == "0o600"
    cfg = json.load(open(out / "config.json"))
    sec = json.load(open(out / "secrets.json"))
    assert cfg["node_id"] == "pump-07" and "password" not in json.dumps(cfg) and WIFI_PSK not in json.dumps(cfg)
    # the client certificate: issued by the fleet CA to CN=pump-07, matching the key in secrets, in the inventory
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((out / "client.pem").read_bytes())
    cert.verify_directly_issued_by(ca)
    assert cert.subject.rfc4514_string() == "CN=pump-07"
    key = serialization.load_pem_private_key(sec["client_key"].encode(), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    inv = [e for e in site["fleet"].inventory() if e["id"] == "pump-07"]
    assert len(inv) == 1 and inv[0]["serial"] == "%x" % cert.serial_number and inv[0]["site"] == "plant1"
    rows = list(csv.reader(open(label)))
    assert rows[0] == ["node_id", "access_point", "portal_passphrase"] and rows[1][:2] == ["pump-07", "vibenode-pump-07"]
    psk = rows[1][2]
    assert len(psk) == 16 and sec["portal_psk"] == psk and psk not in r.stdout
    # a second node gets a different portal passphrase (never a shared default)
    r2 = run("provision.py", "--node-id", "pump-08", "--site", site["site"], "--secrets", site["secrets"],
             "--fleet", site["fleet"].dir, "--out", str(tmp_path / "pump-08"), "--label", str(label))
    assert r2.returncode == 0, r2.stderr
    assert list(csv.reader(open(label)))[2][2] != psk
    # the host board boots from the folder: the broker (mTLS only) accepts it under its certificate's name
    site["fleet"].mosquitto(site["broker"].dir, port=site["broker"].port, bind="127.0.0.1", server="localhost",
                            run_as=__import__("getpass").getuser())
    site["broker"].stop()
    site["broker"].start()  # picks up the ACL with pump-07 in it
    ops = OpsClient(site["fleet"], site["broker"].port)
    node = start_node(str(out), cycles=8)
    try:
        log, _ = node.communicate(timeout=90)
        tel = ops.wait_for(lambda m: m[0] == "vibenode/plant1/pump-07/telemetry", timeout=20)
    finally:
        ops.close()
    assert node.returncode == 0, log
    assert tel is not None, log
    assert "u'pump-07'" in site["broker"].log_text()
    for s in (WIFI_PSK, psk, sec["client_key"].splitlines()[1]):
        assert s not in log and s not in site["broker"].log_text()


def test_clear_errors_schema_duplicate_id_no_device(site, tmp_path):
    inv0 = site["fleet"].inventory()
    bad = json.load(open(site["site"]))
    bad["sampling"]["window"] = 1000
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    r = run("provision.py", "--node-id", "pump-10", "--site", str(tmp_path / "bad.json"), "--secrets",
            site["secrets"], "--fleet", site["fleet"].dir, "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "schema: sampling.window: a power of two" in r.stderr, r.stderr
    assert site["fleet"].inventory() == inv0 and not (tmp_path / "x").exists()  # nothing issued or written
    r = run("provision.py", "--node-id", "pump/10", "--site", site["site"], "--secrets", site["secrets"],
            "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "node id 'pump/10'" in r.stderr
    r = run("provision.py", "--node-id", "pump-10", "--site", site["site"], "--secrets", str(tmp_path / "nope.json"),
            "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "secrets file" in r.stderr and "not found" in r.stderr
    r = run("provision.py", "--node-id", "pump-10", "--site", site["site"], "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "no terminal to ask on" in r.stderr  # prompts need a terminal, never stdin
    assert not (tmp_path / "x").exists()
    # an id already in the fleet inventory
    assert run("fleet.py", "--dir", site["fleet"].dir, "issue", "pump-11", "--site", "plant1").returncode == 0
    r = run("provision.py", "--node-id", "pump-11", "--site", site["site"], "--secrets", site["secrets"],
            "--fleet", site["fleet"].dir, "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "pump-11 is already in the fleet inventory" in r.stderr, r.stderr
    r = run("fleet.py", "--dir", site["fleet"].dir, "issue", "pump-11", "--site", "plant1")
    assert r.returncode != 0 and "already in the fleet inventory" in r.stderr
    # no device on the port
    r = run("provision.py", "--node-id", "pump-12", "--site", site["site"], "--secrets", site["secrets"],
            "--fleet", site["fleet"].dir, "--port", "/dev/ttyNOPE0")
    assert r.returncode != 0 and "no device at /dev/ttyNOPE0" in r.stderr, r.stderr
    assert not site["fleet"].find("pump-12")  # no certificate issued for a device that isn't there


class Pty:
    """A serial port: the test holds the device side."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.name = os.ttyname(self.slave)

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


RAW_REPL = r'''
import os, sys
rd = sys.stdin.buffer.read
wr = sys.stdout.buffer.write
root = os.getcwd()
g = {}
raw = False
buf = bytearray()
while True:
    c = rd(1)
    if not c:
        break
    if not raw:
        if c == b"\x01":
            raw = True
            buf = bytearray()
            wr(b"raw REPL; CTRL-B to exit\r\n>")
        elif c == b"\x03":
            wr(b"\r\n>>> ")
        continue
    if c == b"\x01":
        buf = bytearray()
        wr(b"raw REPL; CTRL-B to exit\r\n>")
    elif c == b"\x02":
        raw = False
        wr(b"\r\nMicroPython (unix port as a device)\r\n>>> ")
    elif c == b"\x03":
        buf = bytearray()
    elif c == b"\x05" and not buf:
        rd(2)
        wr(b"R\x00")  # no raw-paste: plain raw REPL
    elif c == b"\x04":
        if not buf:
            g = {}
            os.chdir(root)
            wr(b"OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>")
            continue
        wr(b"OK")
        code = bytes(buf)
        buf = bytearray()
        err = None
        try:
            exec(code, g)
        except BaseException as e:
            err = e
        wr(b"\x04")
        if err is not None:
            sys.print_exception(err, sys.stdout)
        wr(b"\x04>")
    else:
        buf += c
'''


def test_write_to_a_micropython_device_with_mpremote_and_verify(site, tmp_path):
    dev_fs = tmp_path / "device"
    dev_fs.mkdir()
    (dev_fs / "config.json").write_text('{"old": true}')  # replaced, not merged
    script = tmp_path / "rawrepl.py"
    script.write_text(RAW_REPL)
    p = Pty()
    dev = subprocess.Popen([MPY, str(script)], stdin=p.master, stdout=p.master, cwd=str(dev_fs), env=mpy_env())
    try:
        r = run("provision.py", "--node-id", "pump-20", "--site", site["site"], "--secrets", site["secrets"],
                "--fleet", site["fleet"].dir, "--port", p.name, "--label", str(tmp_path / "labels.csv"),
                timeout=120)
    finally:
        dev.kill()
        dev.wait()
        p.close()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "5 files verified by SHA-256" in r.stdout  # (ota.pub: the fleet's update key, public half)
    assert sorted(os.listdir(dev_fs)) == ["ca.pem", "client.pem", "config.json", "ota.pub", "secrets.json"]
    cfg = json.load(open(dev_fs / "config.json"))
    assert cfg["node_id"] == "pump-20" and cfg["site"] == "plant1"
    cert = x509.load_pem_x509_certificate((dev_fs / "client.pem").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=pump-20"
    assert site["fleet"].find("pump-20")["serial"] == "%x" % cert.serial_number
    assert WIFI_PSK not in r.stdout + r.stderr


def test_device_without_micropython_is_a_clear_error(site, tmp_path):
    p = Pty()
    stop = threading.Event()

    def other_firmware():  # an ESP32 running something else: boot chatter, ignores input
        while not stop.is_set():
            try:
                os.write(p.master, b"ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET),boot:0x13\r\n")
            except OSError:
                return
            time.sleep(0.1)

    th = threading.Thread(target=other_firmware, daemon=True)
    th.start()
    try:
        r = run("provision.py", "--node-id", "pump-21", "--site", site["site"], "--secrets", site["secrets"],
                "--fleet", site["fleet"].dir, "--port", p.name, timeout=60)
    finally:
        stop.set()
        th.join(2)
        p.close()
    assert r.returncode != 0
    assert "does not answer as MicroPython" in r.stderr, r.stderr
    assert not site["fleet"].find("pump-21")


def test_fleet_batch_renders_many_and_revocation_reaches_the_broker_policy(site, tmp_path):
    ids = ["line2-%02d" % i for i in range(5)]
    (tmp_path / "ids.txt").write_text("# line 2\n" + "\n".join(ids) + "\n")
    out = tmp_path / "batch"
    r = run("fleet.py", "--dir", site["fleet"].dir, "batch", "--site-file", site["site"], "--secrets",
            site["secrets"], "--nodes", str(tmp_path / "ids.txt"), "--out", str(out))
    assert r.returncode == 0, r.stderr
    labels = list(csv.reader(open(out / "labels.csv")))[1:]
    assert [row[0] for row in labels] == ids and len({row[2] for row in labels}) == 5
    assert oct(os.stat(out / "labels.csv").st_mode & 0o777) == "0o600"
    serials = set()
    for nid in ids:
        cert = x509.load_pem_x509_certificate((out / nid / "client.pem").read_bytes())
        assert cert.subject.rfc4514_string() == "CN=" + nid
        serials.add(cert.serial_number)
    assert len(serials) == 5
    # a batch with an id already in the fleet issues nothing
    n0 = len(site["fleet"].inventory())
    (tmp_path / "ids2.txt").write_text("new-01\n" + ids[0] + "\n")
    r = run("fleet.py", "--dir", site["fleet"].dir, "batch", "--site-file", site["site"], "--secrets",
            site["secrets"], "--nodes", str(tmp_path / "ids2.txt"), "--out", str(tmp_path / "b2"))
    assert r.returncode != 0 and "already in the fleet inventory" in r.stderr
    assert len(site["fleet"].inventory()) == n0
    # revoke one: CRL lists it, the emitted ACL drops it, inventory CSV says so
    r = run("fleet.py", "--dir", site["fleet"].dir, "revoke", ids[1])
    assert r.returncode == 0, r.stderr
    crl = x509.load_pem_x509_crl(open(site["fleet"].p("crl.pem"), "rb").read())
    assert crl.get_revoked_certificate_by_serial_number(
        x509.load_pem_x509_certificate((out / ids[1] / "client.pem").read_bytes()).serial_number) is not None
    r = run("fleet.py", "--dir", site["fleet"].dir, "mosquitto", "--out", str(tmp_path / "mq"), "--port", "8883")
    assert r.returncode == 0, r.stderr
    acl = open(tmp_path / "mq" / "acl").read()
    assert "user %s\n" % ids[0] in acl and "user %s\n" % ids[1] not in acl
    rows = {row["id"]: row for row in csv.DictReader(open(site["fleet"].p("inventory.csv")))}
    assert rows[ids[1]]["status"] == "revoked" and rows[ids[0]]["status"] == "active"
    assert rows[ids[0]]["not_after"] > "20"  # ISO dates
    r = run("fleet.py", "--dir", site["fleet"].dir, "list")
    assert r.returncode == 0 and ids[0] in r.stdout and "SOON" not in r.stdout and "CRL next update" in r.stdout
    r = run("fleet.py", "--dir", site["fleet"].dir, "list", "--warn-days", "1000")  # 825-day certs, 1-year CRL
    line = [ln for ln in r.stdout.splitlines() if ln.startswith(ids[0] + " ")][0]
    assert "EXPIRES SOON" in line and "--site plant1 --reissue" in line and "RE-SIGN NOW" in r.stdout
    assert "EXPIRES SOON" not in [ln for ln in r.stdout.splitlines() if ln.startswith(ids[1] + " ")][0]


def _refresh_broker(site):
    """Re-emit the broker policy from the inventory and restart (new nodes get their ACL)."""
    import getpass
    site["fleet"].mosquitto(site["broker"].dir, port=site["broker"].port, bind="127.0.0.1", server="localhost",
                            run_as=getpass.getuser())
    site["broker"].stop()
    site["broker"].start()


def test_no_secret_in_any_log_status_or_message_over_a_whole_provisioning_run(site, tmp_path, monkeypatch):
    """provision -> boot (mTLS, get_config answered) -> config corrupted -> boot on last good ->
    portal changes Wi-Fi -> reboot: every byte of tool output, node console, broker log, portal
    pages and MQTT traffic (status, acks, telemetry) is searched for every secret value."""
    import socket
    from conftest import free_port
    from test_portal import submit, wait_port
    mqtt_pw = "Mqtt-Secret-Pw-6620"
    rotated = "Rotated-WiFi-Secret-7"
    (tmp_path / "secrets.json").write_text(json.dumps({"wifi": {"plant": WIFI_PSK},
                                                       "mqtt": {"user": "pump-30", "password": mqtt_pw}}))
    fs = tmp_path / "pump-30"
    captured = []
    r = run("provision.py", "--node-id", "pump-30", "--site", site["site"], "--secrets", str(tmp_path / "secrets.json"),
            "--fleet", site["fleet"].dir, "--out", str(fs), "--label", str(tmp_path / "labels.csv"))
    assert r.returncode == 0, r.stderr
    captured += [r.stdout, r.stderr]
    sec = json.load(open(fs / "secrets.json"))
    secrets = [WIFI_PSK, mqtt_pw, rotated, sec["portal_psk"]] + \
        [ln for ln in sec["client_key"].splitlines() if "-----" not in ln] + \
        [ln for ln in open(site["fleet"].p("ca.key")).read().splitlines() if "-----" not in ln]
    _refresh_broker(site)
    ops = OpsClient(site["fleet"], site["broker"].port, topic="#")
    try:
        def boot(cycles=6, command=None):
            node = start_node(str(fs), cycles=cycles)
            if command is not None:  # sent once the node reports (commands are never retained)
                ops.wait_for(lambda m: m[0] == "vibenode/plant1/pump-30/telemetry", timeout=30)
                ops.publish("vibenode/plant1/pump-30/cmd", command)
            out, _ = node.communicate(timeout=90)
            captured.append(out)
            assert node.returncode == 0, out
            return out

        # a get_config while the node runs, whose ack must not carry a secret either
        boot(cycles=12, command=b'{"id": "g1", "cmd": "get_config"}')
        assert ops.wait_for(lambda m: m[0] == "vibenode/plant1/pump-30/telemetry", timeout=20), captured[-1]
        ack = ops.wait_for(lambda m: m[0].startswith("vibenode/plant1/pump-30/cmd/") and b'"g1"' in m[1], timeout=5)
        assert ack is not None and b'"***"' in ack[1], ack  # the config came back, secrets masked
        raw = (fs / "config.json").read_bytes()
        (fs / "config.json").write_bytes(raw[: len(raw) // 3])
        out = boot()
        assert "running on the last good config" in out
        assert ops.wait_for(lambda m: m[0].endswith("pump-30/status") and b"config.good.json" in m[1], timeout=20)
        (fs / "portal.req").write_text("")
        port = free_port()
        monkeypatch.setenv("VIBENODE_PORTAL_PORT", str(port))
        node = start_node(str(fs), cycles=6)
        assert wait_port(port), "no portal"
        code, body = submit(port, "name=Pump+30&ssid1=plant&psk1=%s&host=localhost&port=%d"
                            % (rotated, site["broker"].port))
        captured.append(body.decode(errors="replace"))
        assert code == 200, body
        out, _ = node.communicate(timeout=90)
        captured.append(out)
        assert node.returncode == 0 and "hostboot: reset" in out, out
        assert json.load(open(fs / "secrets.json"))["wifi"] == {"plant": rotated}
        n_tel = len([m for m in ops.msgs if m[0].endswith("pump-30/telemetry")])
        assert n_tel >= 4
        time.sleep(0.5)
    finally:
        ops.close()
    captured.append(site["broker"].log_text())
    captured += [repr(m) for m in ops.msgs]
    blob = "\n".join(captured)
    assert "pump-30" in blob and len(blob) > 2000  # the capture is real
    for s in secrets:
        assert s not in blob, "secret value leaked: %s..." % s[:4]


def test_make_targets_call_the_tools(site, tmp_path):
    env = dict(os.environ)
    r = subprocess.run(["make", "-s", "-C", ROOT, "provision", "NODE=mk-01", "SITE=" + site["site"],
                        "SECRETS=" + site["secrets"], "FLEET=" + site["fleet"].dir, "OUT=" + str(tmp_path / "mk"),
                        "LABEL=" + str(tmp_path / "labels.csv")], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(os.listdir(tmp_path / "mk")) == ["ca.pem", "client.pem", "config.json", "ota.pub", "secrets.json"]
    assert site["fleet"].find("mk-01") is not None
    r = subprocess.run(["make", "-s", "-C", ROOT, "fleet", "FLEET=" + site["fleet"].dir, "CMD=revoke mk-01"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and "revoked mk-01" in r.stdout, r.stdout + r.stderr
    r = subprocess.run(["make", "-s", "-C", ROOT, "provision", "NODE=mk-02"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode != 0 and "usage: make provision" in r.stdout


def test_factory_identity_then_field_config_through_the_portal(site, tmp_path, monkeypatch):
    """--portal-only at the factory (identity, label passphrase, certificate); Wi-Fi and broker from a
    phone in the field; the node then reports over mutual TLS under the site it was issued for."""
    from conftest import free_port
    from test_portal import submit, wait_port
    fs = tmp_path / "pump-50"
    r = run("provision.py", "--node-id", "pump-50", "--portal-only", "--site-name", "plant1", "--fleet",
            site["fleet"].dir, "--out", str(fs), "--label", str(tmp_path / "labels.csv"))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(fs)) == ["ca.pem", "client.pem", "identity.json", "secrets.json"]
    _refresh_broker(site)
    port = free_port()
    monkeypatch.setenv("VIBENODE_PORTAL_PORT", str(port))
    ops = OpsClient(site["fleet"], site["broker"].port)
    node = start_node(str(fs), cycles=6)
    try:
        assert wait_port(port), "no portal on a factory-provisioned node"
        code, body = submit(port, "name=Pump+50&ssid1=plant&psk1=%s&host=localhost&port=%d"
                            % (WIFI_PSK, site["broker"].port))
        assert code == 200, body
        out, _ = node.communicate(timeout=90)
        tel = ops.wait_for(lambda m: m[0] == "vibenode/plant1/pump-50/telemetry", timeout=20)
    finally:
        ops.close()
        if node.poll() is None:
            node.kill()
            node.wait()
    assert tel is not None, out
    cfg = json.load(open(fs / "config.json"))
    assert cfg["site"] == "plant1" and cfg["tls"]["enabled"] is True  # TLS although the host is loopback
    assert "u'pump-50'" in site["broker"].log_text()


def test_encrypted_ca_key_needs_its_passphrase(tmp_path):
    fl = str(tmp_path / "fleet")
    env = dict(os.environ, VIBENODE_CA_PASS="correct horse battery")
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "fleet.py"), "--dir", fl, "init", "--encrypt"], env=env,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert b"ENCRYPTED PRIVATE KEY" in open(os.path.join(fl, "ca.key"), "rb").read()
    with pytest.raises(TypeError):  # an independent check: unusable without the passphrase
        serialization.load_pem_private_key(open(os.path.join(fl, "ca.key"), "rb").read(), None)
    ok = subprocess.run([PY, os.path.join(ROOT, "tools", "fleet.py"), "--dir", fl, "issue", "n1", "--site", "s"],
                        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert ok.returncode == 0, ok.stderr
    env.pop("VIBENODE_CA_PASS")
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "fleet.py"), "--dir", fl, "issue", "n2", "--site", "s"],
                       env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "CA key is encrypted" in r.stderr
    env["VIBENODE_CA_PASS"] = "wrong"
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "fleet.py"), "--dir", fl, "revoke", "n1"],
                       env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "wrong passphrase" in r.stderr
    assert fleetmod.Fleet(fl).find("n1")["status"] == "active"  # nothing changed
