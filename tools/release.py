#!/usr/bin/env python3
"""Sign an application release for one board: `make release BOARD=<name> [FLEET=fleet]`.

Builds the board's tree (tools/build.py), then writes dist/<board>-<version>/:
    manifest.txt   line 1 {"board", "arch", "version", "n", "size"}; then one line per file:
                   "<sha256 hex> <size> <path>" for every file of the app tree (lib/...)
    manifest.sig   Ed25519 signature (64 bytes) by the fleet's update key (fleet/update.key,
                   `make fleet CMD=update-key`) over b"vibenode-ota-v1\\n" + SHA-256(manifest.txt)
    lib/...        the files themselves
    fw/micropython.bin  with --image: a firmware image, written to the next OTA partition
                   (esp32.Partition, boards/common/fwimage.py) and booted on probation
main.py and appsel.py are not part of an application update (they pick the app tree at boot).
Nodes fetch a release in chunks over MQTT from tools/otaserve.py after an `ota` command.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build as buildmod  # noqa: E402
from vnhost.pki import Fleet  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOMAIN = b"vibenode-ota-v1\n"  # lib/ota/bundle.py's
FW_PATH = "fw/micropython.bin"


def manifest_text(tree, board, arch, version, image=None):
    files = []
    for dp, dns, fns in os.walk(os.path.join(tree, "lib")):
        dns.sort()
        for fn in sorted(fns):
            if fn.endswith(".mpy"):
                p = os.path.join(dp, fn)
                files.append((os.path.relpath(p, tree).replace(os.sep, "/"), p))
    lines = []
    total = 0
    for rel, p in files:
        data = open(p, "rb").read()
        total += len(data)
        lines.append("%s %d %s" % (hashlib.sha256(data).hexdigest(), len(data), rel))
    hd = {"board": board, "arch": arch, "version": version, "n": len(lines), "size": total}
    if image is not None:  # a MicroPython firmware image, last: boards/common/fwimage.py writes it to the OTA slot
        data = open(image, "rb").read()
        lines.append("%s %d %s" % (hashlib.sha256(data).hexdigest(), len(data), FW_PATH))
        files.append((FW_PATH, image))
        hd["n"] = len(lines)
        hd["image"] = len(data)
    head = json.dumps(hd, sort_keys=True)
    return ("\n".join([head] + lines) + "\n").encode(), files


def sign(key, manifest):
    return key.sign(DOMAIN + hashlib.sha256(manifest).digest())


def release(board, fleet_dir="fleet", out=None, arch=None, version=None, tree=None, image=None):
    """Build (unless tree is given), sign, write the bundle; returns its directory."""
    if tree is None:
        tree = buildmod.build(board, arch=arch, out=os.path.join(ROOT, "build", board + ("-" + arch if arch else "")),
                              quiet=True)
    info = json.load(open(os.path.join(tree, "BUILD.json")))
    version = version or info["version"]
    man, files = manifest_text(tree, board, info["arch"], version, image)
    fleet = Fleet(fleet_dir)
    if not os.path.exists(fleet.p("update.key")):
        sys.exit("release: no update key in %s (make fleet CMD=update-key)" % fleet_dir)
    sig = sign(fleet.update_key(), man)
    out = out or os.path.join(ROOT, "dist", "%s-%s" % (board, version))
    if os.path.exists(out):
        shutil.rmtree(out)
    for rel, p in files:
        os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
        shutil.copyfile(p, os.path.join(out, rel))
    with open(os.path.join(out, "manifest.txt"), "wb") as f:
        f.write(man)
    with open(os.path.join(out, "manifest.sig"), "wb") as f:
        f.write(sig)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("board")
    ap.add_argument("--fleet", default="fleet")
    ap.add_argument("--out", help="bundle directory (default dist/<board>-<version>)")
    ap.add_argument("--arch", help="build for this mpy arch instead of the board's (x86: the 32-bit test port)")
    ap.add_argument("--version", help="release version (default firmware/vibenode VERSION)")
    ap.add_argument("--image", help="also a MicroPython firmware image (make firmware's .bin) for the OTA slot")
    a = ap.parse_args()
    out = release(a.board, a.fleet, a.out, a.arch, a.version, image=a.image)
    print("release: %s signed -> %s" % (a.board, os.path.relpath(out, ROOT)))


if __name__ == "__main__":
    main()
