#!/usr/bin/env python3
"""The provisioning portal's heap, measured in one run (it runs on a node with no config).

    .venv/bin/python tools/portalmem.py [--mpy /path/to/32-bit/micropython]   (the x64 port of .venv if none)

tests/mpy/portalprobe.py serves one session in-process (the form, a rejected form, a saved one) on
the tree tools/build.py makes for that interpreter. Prints:
  - code: the heap the portal's modules take once imported (config already loaded, as at boot);
  - session: the portal's heap after the session (code + its state), after: what stays once its
    modules are dropped (their qstrs);
  - smallest heap: the smallest -X heapsize the whole session works in (and the next three sizes:
    near the limit success is not monotonic), less the interpreter's start = the session's peak."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import memory  # noqa: E402

PROBE = os.path.join(memory.ROOT, "tests", "mpy", "portalprobe.py")


def run(mpy, env, heap):
    fs = tempfile.mkdtemp(prefix="vn-portalmem-")
    try:
        with open(os.path.join(fs, "identity.json"), "w") as f:
            json.dump({"node_id": "pump-07"}, f)
        with open(os.path.join(fs, "secrets.json"), "w") as f:
            json.dump({"portal_psk": "label-k7m2-p9qx-4hfw"}, f)
        r = subprocess.run([mpy, "-X", "heapsize=%d" % heap, PROBE], cwd=fs, env=env, capture_output=True,
                           text=True, timeout=60)
    finally:
        shutil.rmtree(fs, ignore_errors=True)
    for ln in (r.stdout + r.stderr).splitlines():
        if ln.startswith("RESULT "):
            res = json.loads(ln[7:])
            if res["saved"] and res["codes"] == [200, 422, 200]:
                return res
    return None


def smallest(mpy, env, lo=8 * 1024, hi=256 * 1024, step=256):
    """Smallest heap (bytes, a multiple of step) at which it and the next three sizes all work."""
    ok = lambda n: all(run(mpy, env, n + i * step) for i in range(4))  # noqa: E731
    if not ok(hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpy", default=memory.MPY64)
    a = ap.parse_args()
    arch = memory.arch_of(a.mpy)
    env = dict(os.environ, MICROPYPATH=os.path.join(memory.build_tree(arch), "lib"))
    res = run(a.mpy, env, 4 << 20)
    if res is None:
        sys.exit("portalmem: the portal session failed on %s" % a.mpy)
    n = smallest(a.mpy, env)
    print("portal on %s (%s)" % (a.mpy, arch))
    print("  modules loaded: %s" % " ".join(res["loaded"]))
    print("  code: %d B   session: %d B   after the drop: %d B   (config before it: %d B)"
          % (res["code"], res["session"], res["after"], res["config"]))
    print("  smallest heap: %d B, less the start (%d B) = peak %d B" % (n, res["start"], n - res["start"])
          if n else "  smallest heap: over 256 KB")


if __name__ == "__main__":
    main()
