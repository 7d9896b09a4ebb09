"""The host side of signed updates: the fleet's update key (fleet.py init / update-key), the
public half provisioned as ota.pub, and a release bundle (tools/release.py) whose signature and
per-file hashes check out with CPython's cryptography and hashlib."""
import hashlib
import json
import os
import subprocess
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from conftest import ROOT

PY = sys.executable
sys.path.insert(0, os.path.join(ROOT, "tools"))
from vnhost import nodefiles  # noqa: E402
from vnhost.pki import Fleet  # noqa: E402


def _fleet(tmp_path):
    fl = str(tmp_path / "fleet")
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "fleet.py"), "--dir", fl, "init"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return Fleet(fl)


def test_update_key_made_at_init_kept_private_and_provisioned(tmp_path):
    f = _fleet(tmp_path)
    assert oct(os.stat(f.p("update.key")).st_mode & 0o777) == "0o600"
    pub = f.update_public()
    assert len(pub) == 32
    # update-key does not replace an existing key
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "fleet.py"), "--dir", f.dir, "update-key"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and f.update_public() == pub
    site = {"site": "plant1", "mqtt": {"host": "127.0.0.1", "port": 1883}}
    files, _ = nodefiles.render_files("pump-07", site, {}, fleet=f)
    assert files["ota.pub"] == pub
    assert b"PRIVATE" not in b"".join(files.values()).replace(b"client_key", b"")  # no update key on a node


def test_release_bundle_signed_and_hashed(tmp_path):
    f = _fleet(tmp_path)
    out = str(tmp_path / "dist" / "host-9.0")
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "release.py"), "host", "--fleet", f.dir, "--out", out,
                        "--version", "9.0"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    man = open(os.path.join(out, "manifest.txt"), "rb").read()
    sig = open(os.path.join(out, "manifest.sig"), "rb").read()
    Ed25519PublicKey.from_public_bytes(f.update_public()).verify(
        sig, b"vibenode-ota-v1\n" + hashlib.sha256(man).digest())  # raises when it does not verify
    lines = man.decode().splitlines()
    head = json.loads(lines[0])
    assert head["board"] == "host" and head["version"] == "9.0" and head["n"] == len(lines) - 1
    build = json.load(open(os.path.join(ROOT, "build", "host", "BUILD.json")))
    assert head["arch"] == build["arch"]
    total = 0
    for line in lines[1:]:
        h, size, path = line.split(" ")
        data = open(os.path.join(out, path), "rb").read()
        assert hashlib.sha256(data).hexdigest() == h and len(data) == int(size)
        assert build["files"][path] == h  # the very files make build wrote
        total += len(data)
    assert total == head["size"]
    assert "lib/vibenode/node.mpy" in man.decode() and "main.py" not in [ln.split(" ")[-1] for ln in lines[1:]]
