"""Test harness: MicroPython code runs on the real unix port, importing the mpy-cross x64 build
(build/host), never only the sources under CPython. A real Mosquitto serves as the broker."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from loopback import free_port, wait_listening  # noqa: E402,F401  (tests take free_port from here)

MPY = os.path.join(ROOT, ".venv", "bin", "micropython")
BUILD = os.path.join(ROOT, "build", "host")
# VN_MPY=<interpreter>: run the MicroPython side on that interpreter against build/host-x86 (mpy-cross
# -march=x86), e.g. ../shared/tools/micropython-i386/micropython (32-bit: the ESP32's object sizes, 31-bit
# small ints, 32-bit viper ints; no TLS, no VfsLfs). `make test-32` runs the tests marked `device` so.
MPY32 = os.environ.get("VN_MPY") or None
BUILD_ARGS = ["host"]
if MPY32:
    MPY = os.path.abspath(MPY32)
    BUILD = os.path.join(ROOT, "build", "host-x86")
    BUILD_ARGS = ["host", "--arch", "x86"]
MOSQUITTO = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else "mosquitto"

_built = False


def ensure_build():
    """Build the host tree once per test session (tools/build.py is incremental)."""
    global _built
    if not _built:
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py")] + BUILD_ARGS, check=True,
                       stdout=subprocess.DEVNULL)
        _built = True
    return BUILD


def mpy_env(extra_path=()):
    ensure_build()
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join(list(extra_path) + [os.path.join(BUILD, "lib")])
    return env


def run_mpy(code, cwd=None, heapsize=None, timeout=120, check=True, extra_path=(), args=()):
    """Run MicroPython `code` on the unix port against the x64 build. Returns CompletedProcess."""
    cmd = [MPY]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(code)
        path = f.name
    try:
        r = subprocess.run(cmd + [path] + list(args), cwd=cwd or tempfile.gettempdir(), env=mpy_env(extra_path),
                           capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(path)
    if check and r.returncode != 0:
        raise AssertionError("micropython failed (rc %d):\n%s\n%s" % (r.returncode, r.stdout[-4000:], r.stderr[-4000:]))
    return r


def mpy_result(code, **kw):
    """Run code that prints one line `RESULT <json>`; return the decoded object."""
    r = run_mpy(code, **kw)
    for line in r.stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise AssertionError("no RESULT line in output:\n" + r.stdout[-4000:] + r.stderr[-2000:])


MPYTESTS = os.path.join(ROOT, "tests", "mpy")


def mpy_case(module, case, args=None, **kw):
    """Run case `case` of tests/mpy/<module>.py (a MicroPython module; tests/mpy/harness.py) with
    `args` (a JSON file named on its command line) and return its RESULT. tests/mpy comes first on the path:
    its module names must not be those of device packages (emulators, sensors, features, ...)."""
    with open(os.path.join(MPYTESTS, module + ".py")) as f:
        code = f.read()
    kw["extra_path"] = (MPYTESTS,) + tuple(kw.get("extra_path", ()))
    # the arguments go in a file (@path): strings json.loads made from sys.argv crashed the unix port
    # ("FATAL: uncaught NLR") in tests/mpy/config_cases.py's power-cut loop
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(args or {}, f)
    try:
        return mpy_result(code, args=(case, "@" + f.name), **kw)
    finally:
        os.unlink(f.name)


class Broker:
    """A private Mosquitto on a loopback port (restartable for outage tests)."""

    def __init__(self, port=None, conf_extra=""):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="vn-broker-")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n%s\n" % (self.port, conf_extra))
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "broker.log"), "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_listening(self.port):
            raise RuntimeError("mosquitto did not start on port %d" % self.port)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.kill()


@pytest.fixture
def broker():
    b = Broker()
    yield b
    b.stop()


class Subscriber:
    """paho-mqtt subscriber collecting (topic, payload, retain) from a broker."""

    def __init__(self, port, topic="vibenode/#", host="127.0.0.1"):
        import paho.mqtt.client as mqtt
        self.msgs = []
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub-%d" % os.getpid())
        self.c.on_message = lambda c, u, m: self.msgs.append((m.topic, m.payload, m.retain))
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        self.c.connect(host, port)
        self.c.loop_start()
        deadline = time.time() + 5
        while not self.c.is_connected() and time.time() < deadline:
            time.sleep(0.02)

    def wait_for(self, pred, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for m in list(self.msgs):
                if pred(m):
                    return m
            time.sleep(0.05)
        return None

    def json_on(self, leaf):
        out = []
        for t, p, r in list(self.msgs):
            if t.endswith("/" + leaf):
                try:
                    out.append(json.loads(p))
                except ValueError:
                    pass
        return out

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def node_config(port, **over):
    cfg = {"node_id": "sim-0001", "site": "plant1",
           "mqtt": {"host": "127.0.0.1", "port": port, "prefix": "vibenode", "keepalive": 10},
           "sampling": {"rate": 3200, "range_g": 16, "window": 2048, "interval_s": 1},
           "board": {"name": "host", "sim": {"imbalance_g": [1.0, 0.0, 0.0], "noise_g": 0.0,
                                             "gravity_g": [0.0, 0.0, 0.0]}}}
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k].update(v)
        else:
            cfg[k] = v
    return cfg


def write_fs(path, cfg):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    return path


def start_node(fs, cycles=None, heapsize=None, stdout=None):
    """Boot the host node (hostboot) with working directory = its filesystem."""
    cmd = [MPY]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    cmd += ["-c", "import hostboot; hostboot.run(cycles=%r)" % (cycles,)]
    return subprocess.Popen(cmd, cwd=fs, env=mpy_env(), stdout=stdout or subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


# The tests that matter for a device (drivers and emulators, sampler, features, CWRU replays, allocation
# checks, whole-node heap, link, store): `make test-32` runs these (marker `device`) on VN_MPY.
DEVICE_TESTS = ("test_emulators", "test_emulators_faults", "test_sampler", "test_features_accuracy",
                "test_features_config", "test_features_int32", "test_features_kernels", "test_features_replay",
                "test_features_result", "test_sensors_accel", "test_sensors_boards", "test_sensors_node",
                "test_sensors_temp", "test_resilience_heap", "test_link_faults", "test_link_wifi", "test_tls",
                "test_store_queue", "test_store_flashwear", "test_store_powercut", "test_kernels_ports",
                "test_link_mqtt", "test_store_full", "test_commands_hardening", "test_power_sleep",
                "test_config_sections", "test_telemetry_size", "test_integrations_sparkplug", "test_integrations_ha", "test_baseline",
                "test_wideband", "test_stream_features", "test_ota_ed25519", "test_commands_peak")
# What a test needs of the interpreter (marker -> probe); where it is missing the test is skipped, saying so.
NEEDS = {"tls": ("import ssl", "no ssl/tls in this interpreter (%s)"),
         "vfslfs": ("import vfs; vfs.VfsLfs2", "no VfsLfs2 (littlefs) in this interpreter (%s)")}
MODULE_NEEDS = {"test_tls": "tls", "test_store_flashwear": "vfslfs", "test_store_powercut": "vfslfs"}
_has = {}


def interpreter_has(need):
    if need not in _has:
        r = subprocess.run([MPY, "-c", NEEDS[need][0]], capture_output=True, timeout=30)
        _has[need] = r.returncode == 0
    return _has[need]


def pytest_configure(config):
    config.addinivalue_line("markers", "device: runs on a 32-bit MicroPython too (make test-32)")
    for need in NEEDS:
        config.addinivalue_line("markers", "%s: needs %s in the MicroPython interpreter" % (need, need))


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.module.__name__.rsplit(".", 1)[-1]
        if name in DEVICE_TESTS:
            item.add_marker(pytest.mark.device)
        if name in MODULE_NEEDS:
            item.add_marker(MODULE_NEEDS[name])
        for need in NEEDS:
            if item.get_closest_marker(need) and not interpreter_has(need):
                item.add_marker(pytest.mark.skip(reason=NEEDS[need][1] % MPY))
