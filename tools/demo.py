#!/usr/bin/env python3
"""The node's main job with no hardware: `make demo` runs this.

Starts a private Mosquitto on a free loopback port (or uses MQTT_HOST/MQTT_PORT), builds the host
board's x64 tree, boots the simulated node on the MicroPython unix port in real time, measuring a
simulated machine (imbalance, misalignment, an outer-race bearing defect, noise, temperature
drift), and shows the readings as they arrive from the broker until Ctrl-C or --duration seconds.
--replay FILE feeds a recording (see boards/host/recording.py for the format) instead.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build as buildmod  # noqa: E402
import monitor  # noqa: E402

MPY = os.path.join(ROOT, ".venv", "bin", "micropython")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start_broker(port, workdir):
    exe = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else shutil.which("mosquitto")
    if not exe:
        sys.exit("demo: mosquitto not found (run `make setup`)")
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
    log = open(os.path.join(workdir, "broker.log"), "wb")
    p = subprocess.Popen([exe, "-c", conf], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("demo: mosquitto did not start on port %d (see %s)" % (port, workdir))


# where the demo wires each chip on the host board (SPI for the fast accelerometers, as on a real node)
WIRING = {"adxl345": "adxl345@spi1:5", "lis3dh": "lis3dh@spi1:5", "adxl355": "adxl355@spi1:5",
          "mpu6050": "mpu6050@i2c0:0x68", "tmp117": "tmp117@i2c0:0x48", "max31865": "max31865@spi1:15"}
# the fastest full-resolution rate of each chip (the LIS3DH is 8-bit above 1344 Hz)
RATE = {"adxl345": 3200, "lis3dh": 1344, "mpu6050": 1000, "adxl355": 4000}
ACCELS = ("adxl345", "lis3dh", "mpu6050", "adxl355")
TEMPS = ("tmp117", "max31865")


def demo_config(host, port, replay=None, chip=None, temp=None):
    # a 15-300 kW motor on a rigid foundation, in ISO zone B (velocity 1.4-2.8 mm/s), with an
    # early outer-race defect ringing a structural resonance near 1.2 kHz
    sim = {"rpm": 1480, "imbalance_g": [0.045, 0.035, 0.008], "misalign_g": [0.012, 0.02, 0.004],
           "bearing": {"multiple": 3.5848, "impulse_g": 0.6, "resonance_hz": 1200, "decay_ms": 1.5},
           "noise_g": 0.02, "gravity_g": [0.0, 0.0, 1.0],
           "temperature": {"start_c": 41.5, "drift_c_per_h": 30.0}}
    if replay:
        sim["recording"] = {"path": os.path.abspath(replay)}
    chips = [WIRING[chip or "adxl345"], WIRING[temp or "tmp117"]]
    return {"node_id": "demo-0001", "site": "demo-plant",
            "mqtt": {"host": host, "port": port, "prefix": "vibenode", "keepalive": 15},
            "sampling": {"rate": RATE.get(chip or "adxl345", 3200), "range_g": 16, "window": 2048, "interval_s": 2},
            "features": {"rpm": 1480, "velocity": {"band": [10, 1000], "group": 2, "foundation": "rigid"},
                         "bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}},
                         "envelope": {"harmonics": 3}},
            "board": {"name": "host", "realtime": True, "chips": chips, "sim": sim}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (default: Ctrl-C)")
    ap.add_argument("--replay", help="recording to feed through the emulated accelerometer")
    ap.add_argument("--chip", choices=ACCELS, help="emulated accelerometer (default adxl345)")
    ap.add_argument("--temp", choices=TEMPS, help="emulated temperature sensor (default tmp117)")
    a = ap.parse_args()
    workdir = tempfile.mkdtemp(prefix="vibenode-demo-")
    host = os.environ.get("MQTT_HOST", "127.0.0.1")
    broker = None
    if os.environ.get("MQTT_PORT") or os.environ.get("MQTT_HOST"):
        port = int(os.environ.get("MQTT_PORT", "1883"))
    else:
        port = free_port()
        broker = start_broker(port, workdir)
    print("demo: broker %s:%d%s" % (host, port, "" if broker else " (yours)"), flush=True)
    buildmod.build("host", quiet=True)
    fs = os.path.join(workdir, "fs")
    os.makedirs(fs)
    with open(os.path.join(fs, "config.json"), "w") as f:
        json.dump(demo_config(host, port, a.replay, a.chip, a.temp), f, indent=1)
    env = dict(os.environ)
    env["MICROPYPATH"] = os.path.join(ROOT, "build", "host", "lib") + ":" + os.path.join(ROOT, ".venv", "mpylib")
    node_log = open(os.path.join(workdir, "node.log"), "w")
    node = subprocess.Popen([MPY, "-c", "import hostboot; hostboot.run()"], cwd=fs, env=env, stdout=node_log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    print("demo: node demo-0001 booted on the MicroPython unix port (log: %s)" % node_log.name, flush=True)
    print("demo: readings from the broker (Ctrl-C to stop):", flush=True)
    client = monitor.subscribe(host, port, "vibenode/#", lambda l: print(l, flush=True), client_id="vibenode-demo")
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
    t0 = time.time()
    try:
        while not stop["now"] and (not a.duration or time.time() - t0 < a.duration):
            if node.poll() is not None:
                print("demo: the node exited (code %s); last lines:" % node.returncode)
                node_log.flush()
                print(open(node_log.name).read()[-2000:])
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        client.loop_stop()
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
        if broker:
            broker.kill()
            broker.wait()
        print("demo: stopped; node and broker cleaned up", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
