#!/usr/bin/env python3
"""Install vibenode on a device running stock MicroPython: `make deploy BOARD=... PORT=...`.

Steps, all through mpremote over the serial port:
  1. check the port answers and runs MicroPython (clear error otherwise)
  2. build the board's tree (tools/build.py) and copy it: main.py and /lib/... (the MQTT client
     is the node's own lib/link: nothing is fetched from the network)
  3. copy the node's filesystem (config.json, secrets.json, certificates) from --node-dir, as
     rendered by `tools/provision.py --out DIR`
  4. reset the device
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build as buildmod  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")


def mpremote(port, *args, check=True, capture=False):
    cmd = [MPREMOTE, "connect", port] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode:
        msg = (r.stderr or r.stdout).strip().splitlines()
        sys.exit("deploy: `%s` failed: %s" % (" ".join(cmd[1:]), msg[-1] if msg else "exit %d" % r.returncode))
    return r


def check_device(port):
    if not port.startswith(("/dev/", "COM", "socket:", "rfc2217:")) and port not in ("auto",):
        sys.exit("deploy: PORT=%s does not look like a serial port (e.g. /dev/ttyUSB0)" % port)
    if port.startswith("/dev/") and not os.path.exists(port):
        sys.exit("deploy: no device at %s (is it plugged in? `mpremote devs` lists ports)" % port)
    r = mpremote(port, "exec", "import sys; print('MPY', sys.implementation.name)", check=False)
    if "MPY micropython" not in r.stdout:
        sys.exit("deploy: %s does not answer as MicroPython; flash stock MicroPython first (see README)" % port)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", required=True)
    ap.add_argument("--port", required=True)
    ap.add_argument("--node-dir", help="the node's rendered filesystem (tools/provision.py --out DIR)")
    a = ap.parse_args()
    if a.board == "host":
        sys.exit("deploy: the host board runs on this machine (`make demo`), there is nothing to flash")
    check_device(a.port)
    out = buildmod.build(a.board)
    mpremote(a.port, "fs", "mkdir", ":lib", check=False)
    for dp, dns, fns in os.walk(out):
        rel = os.path.relpath(dp, out)
        if rel != ".":
            mpremote(a.port, "fs", "mkdir", ":" + rel, check=False)
        for fn in fns:
            if fn == "BUILD.json":
                continue
            src = os.path.join(dp, fn)
            dst = ":" + (fn if rel == "." else rel + "/" + fn)
            mpremote(a.port, "fs", "cp", src, dst)
    if a.node_dir:
        for fn in sorted(os.listdir(a.node_dir)):
            p = os.path.join(a.node_dir, fn)
            if os.path.isfile(p):
                mpremote(a.port, "fs", "cp", p, ":" + fn)
    mpremote(a.port, "reset")
    print("deploy: %s installed on %s and reset" % (a.board, a.port))


if __name__ == "__main__":
    main()
