#!/usr/bin/env python3
"""`make bench` (tools/bench.py calls main()): the cost of verifying a signed update on a node.

One Ed25519 verification of a release manifest's signature (lib/ota/ed25519.py; SHA-512 from
lib/ota/sha512.py, as on the ESP32 port whose hashlib has no sha512), measured:
  - on the unix port (x64) and on the 32-bit interpreter (MPY32=, ESP32 object sizes): wall
    time, the heap's peak during the update's verification (module import + verify) and what
    stays after the modules are dropped (target ~0);
  - on RV32 (ESP32-C3 ISA) under QEMU -icount (tools/bench_rv32.py's runner): instructions, and
    the ESP32-C3 time they imply at 160 MHz and one instruction per cycle (the ESP32's LX6 at
    240 MHz is taken as the same count: an estimate, stated as such).
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

_SCRIPT = r"""
import gc, sys, time
import binascii
pub = binascii.unhexlify(%(pub)r)
sig = binascii.unhexlify(%(sig)r)
msg = binascii.unhexlify(%(msg)r)
gc.collect()
m0 = gc.mem_alloc()
if "--base" in sys.argv:
    print("OTA_BENCH ok=1 us=0 alloc=0 steady=0")
    raise SystemExit
t0 = time.ticks_us()
from ota import bundle
from ota import ed25519
gc.collect()
code = gc.mem_alloc() - m0  # the verifier's code and tables, loaded
ed25519 = None
ok = True
try:
    bundle.verify(pub, sig, msg[len(bundle.DOMAIN):])
except bundle.OtaError:
    ok = False
us = time.ticks_diff(time.ticks_us(), t0)
peak = code
bundle = None
sys.modules.pop("ota.bundle", None)
sys.modules.pop("ota", None)
gc.collect()
steady = gc.mem_alloc() - m0
print("OTA_BENCH ok=%%d us=%%d alloc=%%d steady=%%d" %% (ok, us, peak, steady))
"""


def _vector():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    k = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"vibenode bench").digest())
    pub = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    msg = b"vibenode-ota-v1\n" + hashlib.sha256(b"a manifest").digest()  # what a node verifies
    return {"pub": pub.hex(), "sig": k.sign(msg).hex(), "msg": msg.hex()}


def _parse(out):
    m = re.search(r"OTA_BENCH ok=(\d) us=(\d+) alloc=(-?\d+) steady=(-?\d+)", out or "")
    return None if m is None else dict(zip(("ok", "us", "alloc", "steady"), map(int, m.groups())))


def _unix(mpy, build_args, label, peak=False):
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py")] + build_args, check=True,
                   stdout=subprocess.DEVNULL)
    out_dir = os.path.join(ROOT, "build", build_args[0] + ("-" + build_args[2] if len(build_args) > 2 else ""))
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(_SCRIPT % _vector())
    try:
        r = subprocess.run([mpy, f.name], capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, MICROPYPATH=os.path.join(out_dir, "lib")))
    finally:
        os.unlink(f.name)
    v = _parse(r.stdout)
    if v is None:
        print("  %s: failed: %s" % (label, (r.stdout + r.stderr)[-400:]))
        return None
    print("  %s: verify %s in %.0f ms; code loaded for it %.1f KB; left after the modules are dropped %d B "
          "(names interned by the import)" % (label, "ok" if v["ok"] else "FAILED", v["us"] / 1000.0,
                                              v["alloc"] / 1024.0, v["steady"]))
    if peak:
        k = smallest_heap(mpy, out_dir, False)
        b = smallest_heap(mpy, out_dir, True)
        if k and b:
            print("    smallest heap running the verification %d KB vs %d KB without it: peak cost %d KB (code + work)"
                  % (k, b, k - b))
    return v


def smallest_heap(mpy, out_dir, base):
    """Smallest -X heapsize (KB) in which the bench script (verification or --base) runs."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(_SCRIPT % _vector())

    def ok(kb):
        r = subprocess.run([mpy, "-X", "heapsize=%dK" % kb, f.name] + (["--base"] if base else []),
                           capture_output=True, text=True, timeout=600,
                           env=dict(os.environ, MICROPYPATH=os.path.join(out_dir, "lib")))
        v = _parse(r.stdout)
        return v is not None and v["ok"]
    try:
        lo, hi = 2, 512
        if not ok(hi):
            return None
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi
    finally:
        os.unlink(f.name)


def main():
    print("Signed update verification (Ed25519, lib/ota/ed25519.py, SHA-512 in Python):")
    _unix(os.path.join(ROOT, ".venv", "bin", "micropython"), ["host"], "unix port x64")
    mpy32 = os.environ.get("MPY32")
    if mpy32 and os.path.exists(mpy32):
        _unix(mpy32, ["host", "--arch", "x86"], "32-bit (ESP32 object sizes)", peak=True)
    else:
        print("  32-bit: MPY32 not set (make bench sets it where ../shared/tools/micropython-i386 is)")
    import bench_rv32
    out = bench_rv32.run_script(_SCRIPT % _vector(), heap="140k")
    v = _parse(out)
    if out is None:
        print("  RV32: runner or qemu-system-riscv32 missing")
    elif v is None:
        print("  RV32: failed: %s" % out[-400:])
    else:
        ins = v["us"] * 1000.0
        print("  RV32 (ESP32-C3 ISA, QEMU -icount): %.0f M instructions per verification (%s)"
              % (ins / 1e6, "ok" if v["ok"] else "FAILED"))
        print("  implied ESP32-C3 @ 160 MHz: %.2f s; ESP32 @ 240 MHz (same count, estimate): %.2f s; once per update"
              % (ins / 160e6, ins / 240e6))
        print("  RV32 heap during verification %.1f KB (code runs in place from ROMFS there), after drop %d B"
              % (v["alloc"] / 1024.0, v["steady"]))


if __name__ == "__main__":
    main()
