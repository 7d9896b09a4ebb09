"""An application update under a power cut at every block write (tests/mpy/ota_powercut.py):
littlefs on a RAM block device, the real session/staging code; after every cut the node must boot
the old app with its files intact or the new one with every file as signed, and the update must
then resume and complete."""
import hashlib
import json
import os
import random
import sys

from conftest import BUILD, ROOT, ensure_build, mpy_case

sys.path.insert(0, os.path.join(ROOT, "tools"))
import release  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402


def _args():
    ensure_build()
    arch = json.load(open(os.path.join(BUILD, "BUILD.json")))["arch"]
    rnd = random.Random(15)
    files = [("lib/app/m%d.mpy" % i, bytes(rnd.randrange(256) for _ in range(700 + 300 * i))) for i in range(3)]
    old = [("lib/app/m%d.mpy" % i, bytes(rnd.randrange(256) for _ in range(500))) for i in range(3)]
    lines = ["%s %d %s" % (hashlib.sha256(d).hexdigest(), len(d), p) for p, d in files]
    head = json.dumps({"board": "host", "arch": arch, "version": "2.0", "n": len(lines),
                       "size": sum(len(d) for _, d in files)}, sort_keys=True)
    man = ("\n".join([head] + lines) + "\n").encode()
    key = Ed25519PrivateKey.generate()
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    args = {"v": "2.0", "pub": pub.hex(), "man": man.hex(), "sig": release.sign(key, man).hex(),
            "files": [[p, d.hex()] for p, d in files], "old": [[p, d.hex()] for p, d in old]}
    return args


def test_full_flash_refused_old_app_kept():
    r = mpy_case("ota_powercut", "full_flash", _args(), extra_path=(BUILD,))
    assert r["error"].startswith("flash full"), r
    assert r["events"] == ["started", "failed"] and r["boots"] == ["app_a", True] and not r["staged"], r


def test_update_survives_a_power_cut_at_every_block_write():
    args = _args()
    res = mpy_case("ota_powercut", "cuts", args, timeout=600, extra_path=(BUILD,))  # appsel.py: the build root
    full = res[0]
    assert full["error"] is None and "installed" in full["events"], full
    assert full["boots"] == "app_b" and full["intact"], full
    assert full["writes"] > 40
    assert len(res) == full["writes"] + 1
    seen = set()
    for t in res[1:]:
        where = json.dumps(t)[:500]
        assert t["dead"], where  # the cut happened
        assert "mount" not in t, where  # the filesystem mounts after it
        assert t["boots"] in ("app_a", "app_b") and t["intact"], where  # old app intact or new app complete
        assert t["after"] == ["app_b", True], where  # and the update then completes
        seen.add(t["boots"])
    assert seen == {"app_a", "app_b"}  # cuts before and after the switch were both exercised
