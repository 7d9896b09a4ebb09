#!/usr/bin/env python3
"""The node's main job with no hardware: `make demo` runs this.

Starts a private Mosquitto on a free loopback port (or uses MQTT_HOST/MQTT_PORT), builds the host
board's x64 tree, boots the simulated node on the MicroPython unix port in real time, measuring a
simulated machine (imbalance, misalignment, an outer-race bearing defect, noise, temperature
drift), and shows the readings as they arrive from the broker until Ctrl-C or --duration seconds,
while the monitor (collector + web dashboard, tools/monitor.py) serves them at a printed URL.
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
import integ_demo  # noqa: E402
import monitor  # noqa: E402

MPY = os.path.join(ROOT, ".venv", "bin", "micropython")


def free_port():
    """A free loopback port below the ephemeral range, so that while the broker is down for an
    outage no client socket can take its port."""
    import random
    for _ in range(200):
        p = random.randint(20000, 30000)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    sys.exit("demo: no free loopback port")


def start_broker(port, workdir):
    """Mosquitto on loopback with persistence (sessions and queued QoS 1 messages survive a
    `kill -9` and restart, within the 1 s autosave)."""
    exe = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else shutil.which("mosquitto")
    if not exe:
        sys.exit("demo: mosquitto not found (run `make setup`)")
    conf = os.path.join(workdir, "mosquitto.conf")
    os.chmod(workdir, 0o777)  # mosquitto drops root privileges before writing its database
    with open(conf, "w") as f:
        f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\n"
                "autosave_interval 1\nmax_queued_messages 100000\n" % (port, workdir))
    log = open(os.path.join(workdir, "broker.log"), "ab")
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
WIRING = {"adxl345": "adxl345@spi1:5", "lis3dh": "lis3dh@spi1:5", "adxl355": "adxl355@spi1:5", "iis3dwb": "iis3dwb@spi1:5",
          "mpu6050": "mpu6050@i2c0:0x68", "tmp117": "tmp117@i2c0:0x48", "max31865": "max31865@spi1:15"}
# the fastest full-resolution rate of each chip (the LIS3DH is 8-bit above 1344 Hz)
RATE = {"adxl345": 3200, "lis3dh": 1344, "mpu6050": 1000, "adxl355": 4000, "iis3dwb": 26667}
ACCELS = ("adxl345", "lis3dh", "mpu6050", "adxl355", "iis3dwb")
TEMPS = ("tmp117", "max31865")


# --degrade: the node learns its baseline (30 windows), then the simulated machine degrades
# (imbalance: on a machine in zone A, so that the baseline warns long before ISO zone C)
DEGRADE = {"imbalance": {"imbalance_g_per_min": [0.02, 0.01, 0.0]},
           "bearing": {"bearing_g_per_min": 0.15}}


def demo_config(host, port, replay=None, chip=None, temp=None, degrade=None):
    # a 15-300 kW motor on a rigid foundation, in ISO zone B (velocity 1.4-2.8 mm/s), with an
    # early outer-race defect ringing a structural resonance near 1.2 kHz
    sim = {"rpm": 1480, "imbalance_g": [0.045, 0.035, 0.008], "misalign_g": [0.012, 0.02, 0.004],
           "bearing": {"multiple": 3.5848, "impulse_g": 0.6, "resonance_hz": 1200, "decay_ms": 1.5},
           "noise_g": 0.02, "gravity_g": [0.0, 0.0, 1.0],
           "temperature": {"start_c": 41.5, "drift_c_per_h": 30.0}}
    features = {"rpm": 1480, "velocity": {"band": [10, 1000], "group": 2, "foundation": "rigid"},
                "bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}},
                "envelope": {"harmonics": 3}}
    window = 2048
    interval = 2
    if replay:
        path, rate_hz, scale_g, rpm = replay
        sim["recording"] = {"path": os.path.abspath(path), "rate_hz": rate_hz, "scale_g": scale_g, "loop": True}
        features["rpm"] = rpm if rpm else "auto"
        # a bearing's resonance band below the chip's Nyquist, and a finer envelope spectrum
        features["envelope"] = {"band": [1000, 1550], "harmonics": 3}
        window = 4096
        interval = 3  # (not the recordings' 2 s loop length, so windows see different stretches)
    if chip == "iis3dwb" and not replay:  # a resonance in the wide-band chip's envelope band (2-6 kHz)
        sim["bearing"]["resonance_hz"] = 4000
        interval = 3  # a 1.23 s streamed envelope window (the wide-band reading), then the gap
    chips = [WIRING[chip or "adxl345"], WIRING[temp or "tmp117"]]
    extra = {}
    if degrade:  # learning (30 running windows, status `learning: n/30`), then the machine degrades
        extra["baseline"] = {"learn": 30}
        sim["vary"] = dict(DEGRADE[degrade], after_s=30 * interval + 20)
        if degrade == "bearing":
            sim["bearing"] = dict(sim["bearing"], impulse_g=0.0)
        else:
            sim["imbalance_g"] = [0.02, 0.015, 0.008]
    return dict(extra, **{"node_id": "demo-0001", "site": "demo-plant",
            "mqtt": {"host": host, "port": port, "prefix": "vibenode", "keepalive": 15},
            "sampling": {"rate": RATE.get(chip or "adxl345", 3200), "range_g": 16, "window": window, "interval_s": interval},
            "features": features,
            "board": {"name": "host", "realtime": True, "chips": chips, "sim": sim}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=0, help="stop after this many seconds (default: Ctrl-C)")
    ap.add_argument("--replay", help="recording to feed through the emulated accelerometer: a .npy file in the "
                                     "host board's replay format (boards/host/recording.py; tests/data has CWRU "
                                     "bearing excerpts)")
    ap.add_argument("--replay-rate", type=float, default=12000, help="the recording's sample rate, Hz (12000)")
    ap.add_argument("--replay-scale", type=float, default=0.0005,
                    help="g per count for int16 recordings (0.0005; float32 recordings are in g)")
    ap.add_argument("--replay-rpm", type=float, default=1796, help="shaft speed of the recording, rpm (1796; 0: measure)")
    ap.add_argument("--outage", type=float, default=0,
                    help="kill -9 the demo's broker after 8 s for this many seconds, restart it, and show that "
                         "no reading was lost")
    ap.add_argument("--chip", choices=ACCELS, help="emulated accelerometer (default adxl345)")
    ap.add_argument("--temp", choices=TEMPS, help="emulated temperature sensor (default tmp117)")
    ap.add_argument("--degrade", choices=sorted(DEGRADE), help="learn a baseline, then grow this fault: "
                                                               "the node warns, then alarms, naming the features")
    ap.add_argument("--monitor-port", type=int, default=0, help="port of the dashboard (default: a free one)")
    ap.add_argument("--sleep", type=int, default=0,
                    help="battery node: deep sleep between wakes, one every this many seconds (>= 10; docs/power.md)")
    ap.add_argument("--ha", action="store_true", help="Home Assistant discovery on (homeassistant/device/...)")
    ap.add_argument("--sparkplug", action="store_true", help="Sparkplug B edge node on (spBv1.0/demo-plant/...)")
    ap.add_argument("--update", action="store_true", help="update the node over the air while it runs (a signed "
                                                          "release, chunks over MQTT: tools/demo_ota.py)")
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
    dash = monitor.start_dashboard(host, port, os.path.join(workdir, "monitor.db"), http_port=a.monitor_port)
    print("demo: dashboard at %s (open it in a browser)" % dash[2], flush=True)
    buildmod.build("host", quiet=True)
    fs = os.path.join(workdir, "fs")
    os.makedirs(fs)
    with open(os.path.join(fs, "config.json"), "w") as f:
        cfg = demo_config(host, port, (a.replay, a.replay_rate, a.replay_scale, a.replay_rpm) if a.replay else None,
                          a.chip, a.temp, a.degrade)
        if a.sleep:  # (the host board's deep sleep really waits: it runs in real time here)
            cfg["power"] = {"mode": "sleep", "interval_s": max(10, a.sleep), "awake_max_s": min(30, max(10, a.sleep) - 1)}
        json.dump(integ_demo.config(cfg, a.ha, a.sparkplug), f, indent=1)
    ota = None
    if a.update:
        import demo_ota
        ota = demo_ota.prepare(workdir, fs, host, port)  # (otaserve, version)
    env = dict(os.environ)
    env["MICROPYPATH"] = os.path.join(ROOT, "build", "host", "lib")
    node_log = open(os.path.join(workdir, "node.log"), "w")
    node = subprocess.Popen([MPY, "-c", "import hostboot; hostboot.run()"], cwd=fs, env=env, stdout=node_log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    print("demo: node demo-0001 booted on the MicroPython unix port (log: %s)" % node_log.name, flush=True)
    print("demo: readings from the broker (Ctrl-C to stop; live plots at %s):" % dash[2], flush=True)
    tracker = monitor.Tracker()
    client = monitor.subscribe(host, port, "vibenode/#", lambda l: print(l, flush=True), client_id="vibenode-demo",
                               tracker=tracker, persistent=True)
    integ = integ_demo.watch(host, port) if a.ha or a.sparkplug else None
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
    t0 = time.time()
    duration = a.duration
    if a.outage:
        if not broker:
            sys.exit("demo: --outage needs the demo's own broker (unset MQTT_HOST/MQTT_PORT)")
        duration = max(duration or 0, 8 + a.outage + 15)
    outage_at = 8 if a.outage else None
    update_at = 6 if ota else None
    if ota:
        duration = max(duration or 0, 90)
    try:
        while not stop["now"] and (not duration or time.time() - t0 < duration):
            if update_at is not None and time.time() - t0 >= update_at:
                update_at = None
                print("demo: update to %s sent (`ota` command): signed, in chunks, A/B switch, probation" % ota[1],
                      flush=True)
                demo_ota.send(client, ota[1])
            if outage_at is not None and time.time() - t0 >= outage_at:
                outage_at = None
                broker.kill()
                broker.wait()
                print("demo: broker killed (kill -9); the node queues its readings for %g s..." % a.outage, flush=True)
                time.sleep(a.outage)
                broker = start_broker(port, workdir)
                print("demo: broker back; queued readings are replayed in order", flush=True)
            if node.poll() is not None:
                print("demo: the node exited (code %s); last lines:" % node.returncode)
                node_log.flush()
                print(open(node_log.name).read()[-2000:])
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        time.sleep(0.5)
        client.loop_stop()
        if integ is not None:
            integ.loop_stop()
        for line in tracker.summary():
            print("demo: " + line, flush=True)
        monitor.stop_dashboard(dash[0], dash[1])
        if ota:
            ota[0].stop()
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
