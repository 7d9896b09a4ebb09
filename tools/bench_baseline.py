#!/usr/bin/env python3
"""Baseline learning and judging (lib/baseline, issue 12): its cost, measured in one run.

Called from tools/bench.py (`make bench`), or alone: `.venv/bin/python tools/bench_baseline.py`.
Prints
  - time per window of Baseline.observe() (feature extraction, integer log2, learn or judge, the
    hysteresis), viper kernels vs their plain-Python twins, on the x64 unix port and, with
    MPY32=<32-bit micropython>, on it (an ESP32's object sizes), and the heap bytes it allocates
    per window after warm-up (the kernels alone: 0);
  - memory on the 32-bit model: the code the baseline adds (its modules imported: bytecode and
    machine code in the heap) and its live data (one Baseline, report by exception on);
  - report by exception on the demo config (tools/demo.py: 3 axes x 2048 at 3200 Hz, a reading
    every 2 s): telemetry bytes per hour with and without `baseline.report` {"every": 10}, the node
    on the unix port in simulated time against a private Mosquitto.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
MPY64 = os.path.join(ROOT, ".venv", "bin", "micropython")

# MicroPython: readings computed once by the engine from the simulated machine, then observe() timed
_SCRIPT = r"""
import array, gc, json, sys, time
from features.engine import FeatureEngine
from simulator import MachineSim
impl = sys.argv[1]
if impl == "python":  # the plain-Python twins in place of the viper kernels (the model's fallback)
    import baseline.twin
    sys.modules["baseline.kernel"] = baseline.twin
from baseline import model
n = 2048
sim = MachineSim({"rpm": 1480, "imbalance_g": [0.045, 0.035, 0.008], "misalign_g": [0.012, 0.02, 0.004],
                  "noise_g": 0.02, "bearing": {"multiple": 3.5848, "impulse_g": 0.6, "resonance_hz": 1200}})
feat = {"rpm": 1480, "bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}},
        "envelope": {"harmonics": 3}}
eng = FeatureEngine(n, 3200, feat)
ax = [array.array("h", bytes(2 * n)) for _ in range(3)]
out = array.array("i", (0, 0, 0))
reps = []
for w in range(8):
    for i in range(n):
        sim.sample(w * 16000 + i, 3200000, out)
        for a in range(3):
            ax[a][i] = out[a] // 1000
    rep = {"node": "b", "seq": w + 1, "ts": w, "temp_c": 41.5}
    for a in range(3):
        eng.compute(a, ax[a], 0.001)
        rep["xyz"[a]] = eng.result(a)
    reps.append(rep)
eng = None
gc.collect()
bl = model.Baseline({"features": feat, "baseline": {"learn": 100, "save_every": 1000, "file": "bench_bl.bin",
                                                   "report": {"every": 10}}})
def loop(k):
    t0 = time.ticks_us()
    for i in range(k):
        r = reps[i & 7]
        r.pop("running", None)
        r.pop("bz", None)
        bl.observe(r)
        bl.take_alarms()
    return time.ticks_diff(time.ticks_us(), t0) / k
learn = loop(90)  # learning windows (no save: save_every 1000)
loop(20)
judge = loop(100)
r = reps[0]
gc.collect()
m0 = gc.mem_alloc()
bl.observe(r)
m1 = gc.mem_alloc()
x, st, z, use, lin = bl.x, bl.st, bl.z, bl.use, bl.lin
k = model._k
gc.collect()
m2 = gc.mem_alloc()
k.tolog(x, lin, model.NF)
k.judge(st, x, z, model.NF, 26, 128, lin, use)
k.learn(st, x, use, model.NF, 5)
m3 = gc.mem_alloc()
t0 = time.ticks_us()
for i in range(200):
    k.judge(st, x, z, model.NF, 26, 128, lin, use)
tj = time.ticks_diff(time.ticks_us(), t0) / 200
print("RESULT " + json.dumps({"impl": k.__name__, "learn_us": learn, "judge_us": judge, "alloc_observe": m1 - m0,
                              "alloc_kernels": m3 - m2, "kernel_judge_us": tj}))
"""

# MicroPython: the heap the baseline's code and one Baseline take (what a node adds)
_MEM = r"""
import gc
from store import atomic  # (a node has it loaded already: the queue's)
gc.collect()
m0 = gc.mem_alloc()
from baseline import model, kernel, report
gc.collect()
m1 = gc.mem_alloc()
bl = model.Baseline({"features": {"rpm": 1480}, "baseline": {"file": "mem_bl.bin", "report": {"every": 10}}})
gc.collect()
m2 = gc.mem_alloc()
from baseline import cold
from vibenode import blcmds
gc.collect()
m3 = gc.mem_alloc()
import json
print("RESULT " + json.dumps({"code": m1 - m0, "data": m2 - m1, "cold": m3 - m2}))
"""


def _tree(arch):
    sub = "host" if arch == "x64" else "host-" + arch
    args = ["host"] + ([] if arch == "x64" else ["--arch", arch])
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py")] + args, check=True,
                   stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, "build", sub, "lib")


def _mpy(mpy, lib, script, args=(), cwd=None):
    d = cwd or tempfile.mkdtemp(prefix="vn-blbench-")
    path = os.path.join(d, "script.py")
    with open(path, "w") as f:
        f.write(script)
    env = dict(os.environ, MICROPYPATH=lib)
    r = subprocess.run([mpy, path] + list(args), cwd=d, env=env, capture_output=True, text=True, timeout=900)
    if cwd is None:
        shutil.rmtree(d, ignore_errors=True)
    for ln in r.stdout.splitlines()[::-1]:
        if ln.startswith("RESULT "):
            return json.loads(ln[7:])
    raise SystemExit("bench_baseline: %s failed:\n%s\n%s" % (mpy, r.stdout[-2000:], r.stderr[-2000:]))


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rbe_bytes(cycles=150):
    """Telemetry bytes per hour on the demo config with and without report by exception (the node
    in simulated time; learning 100 windows, then judging)."""
    import demo
    import paho.mqtt.client as mqtt
    work = tempfile.mkdtemp(prefix="vn-blbench-rbe-")
    port = demo.free_port()
    broker = demo.start_broker(port, work)
    got = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-baseline")
    c.on_message = lambda cl, u, m: got.append((m.topic, len(m.payload), m.payload))
    c.connect("127.0.0.1", port)
    c.subscribe("vibenode/+/+/telemetry", qos=1)
    c.loop_start()
    res = {}
    try:
        for name, rep in (("full", None), ("rbe", {"every": 10, "deadband": 0.2})):
            cfg = demo.demo_config("127.0.0.1", port)
            cfg["board"]["realtime"] = False
            cfg["baseline"] = {"learn": 100}
            if rep:
                cfg["baseline"]["report"] = rep
            fs = os.path.join(work, name)
            os.makedirs(fs)
            with open(os.path.join(fs, "config.json"), "w") as f:
                json.dump(cfg, f)
            got.clear()
            env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "build", "host", "lib"))
            subprocess.run([MPY64, "-c", "import hostboot; hostboot.run(cycles=%d)" % cycles], cwd=fs, env=env,
                           capture_output=True, timeout=900)
            time.sleep(1.0)
            seqs = sorted(json.loads(p)["seq"] for t, n, p in got)
            hb = sum(1 for t, n, p in got if b'"hb"' in p)
            res[name] = {"bytes": sum(n for t, n, p in got), "msgs": len(got), "hb": hb,
                         "exact": seqs == list(range(1, cycles + 1)), "interval_s": cfg["sampling"]["interval_s"]}
    finally:
        c.loop_stop()
        c.disconnect()
        broker.kill()
        broker.wait()
        shutil.rmtree(work, ignore_errors=True)
    return res


def main():
    lib64 = _tree("x64")
    print("vibenode baseline bench (lib/baseline): 25 features (3 axes x vel, rms, hf, cf, ku, env, 1x, 2x; temp), "
          "demo machine, 3 x 2048 at 3200 Hz")
    targets = [("x64 unix port", MPY64, lib64)]
    mpy32 = os.environ.get("MPY32")
    if mpy32 and os.path.exists(mpy32):
        targets.append(("32-bit (i386, ESP32 object sizes)", os.path.abspath(mpy32), _tree("x86")))
    for label, mpy, lib in targets:
        v = _mpy(mpy, lib, _SCRIPT, ["viper"])
        p = _mpy(mpy, lib, _SCRIPT, ["python"])
        print("  %s: observe() per window: learning %.0f us, judging %.0f us (viper kernels); twins %.0f / %.0f us"
              % (label, v["learn_us"], v["judge_us"], p["learn_us"], p["judge_us"]))
        print("    judge kernel alone %.1f us (twin %.1f us); heap bytes per window: observe() %d (its floats from "
              "the reading), kernels %d" % (v["kernel_judge_us"], p["kernel_judge_us"], v["alloc_observe"],
                                            v["alloc_kernels"]))
        m = _mpy(mpy, lib, _MEM)
        print("    memory: code %.1f KB (model, kernels, report), data %.2f KB (one Baseline with report by "
              "exception); cold code while a command or a save runs %.1f KB" % (m["code"] / 1024.0,
                                                                               m["data"] / 1024.0,
                                                                               m["cold"] / 1024.0))
    r = rbe_bytes()
    f, e = r["full"], r["rbe"]
    per_h = 3600.0 / f["interval_s"]
    bf = f["bytes"] / f["msgs"] * per_h
    be = e["bytes"] / e["msgs"] * per_h
    print("  report by exception (demo config, a reading every %g s, every 10th full or on change): telemetry "
          "%.0f -> %.0f bytes/hour (%.0f %% saved; %d of %d readings heartbeats; every sequence number "
          "published: %s)" % (f["interval_s"], bf, be, 100 * (bf - be) / bf, e["hb"], e["msgs"],
                              "yes" if e["exact"] and f["exact"] else "NO"))


if __name__ == "__main__":
    main()
