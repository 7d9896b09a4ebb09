#!/usr/bin/env python3
"""`make bench`: the feature engine's cost, measured in one run on this host.

Prints, for the full feature set (time domain, spectrum + top-K peaks + bands + HF + velocity/ISO,
envelope + bearing defect lines, spectrum/envelope exports) on 3 axes x 2048 samples at 3200 Hz:
  - time per window: compiled viper vs the plain-Python reference run as bytecode on the same
    MicroPython, and vs numpy/scipy doing the same work on CPython;
  - heap bytes allocated per window after warm-up (compute only, and compute + result());
  - the smallest `-X heapsize` in which import + engine + three 2048-sample windows run;
  - x64 instructions per window under valgrind --tool=callgrind (if valgrind is installed) and
    the time that implies on a 240 MHz ESP32 at one instruction per cycle;
  - RV32 (ESP32-C3 ISA) instructions and heap per window under QEMU (tools/bench_rv32.py).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY = os.path.join(ROOT, ".venv", "bin", "micropython")
BUILD = os.path.join(ROOT, "build", "host")
N = 2048
FS = 3200
MULT = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}
CFG = {"bearing": {"multiples": MULT}, "rpm": "auto", "rpm_range": [600, 3600], "envelope": {"band": [800, 1550]},
       "top_k": 5}

_SCRIPT = r"""
import array, gc, json, sys, time
gc.collect()
m_start = gc.mem_alloc()
from features.engine import FeatureEngine
gc.collect()
m_code = gc.mem_alloc()
mode = sys.argv[1]
windows = int(sys.argv[2])
N = %(n)d
# the three windows first, then the engine: large buffers before the heap fragments (as the node does)
xs = [array.array("h", range(N)) for _ in range(3)]
e = FeatureEngine(N, %(fs)d, %(cfg)s, impl=None if mode == "viper" else "python")
seed = 1
for a in range(3):
    for i in range(N):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        v = ((seed >> 8) & 0x3FF) - 512
        if i %% 97 == 0:
            v += 1500
        xs[a][i] = v + (a + 1) * 300 * ((i * 37) %% 64 - 32) // 32
def window():
    for a in range(3):
        e.compute(a, xs[a], 0.0039, -4082, 4082)
def report():
    return [e.result(a) for a in range(3)]
if mode == "heap":
    window()
    r = report()
    print("RESULT ok")
    sys.exit(0)
if windows == 0:
    print("RESULT " + json.dumps({"impl": e.impl}))
    sys.exit(0)
window()
report()
gc.collect()
m0 = gc.mem_alloc()
window()
m1 = gc.mem_alloc()
report()
m2 = gc.mem_alloc()
t0 = time.ticks_us()
for _ in range(windows):
    window()
t1 = time.ticks_us()
gc.collect()
m_live = gc.mem_alloc()
print("RESULT " + json.dumps({"impl": e.impl, "us": time.ticks_diff(t1, t0) / windows, "alloc_compute": m1 - m0,
                              "alloc_result": m2 - m1, "code": m_code - m_start, "data": m_live - m_code}))
""" % {"n": N, "fs": FS, "cfg": repr(CFG)}


def env():
    e = dict(os.environ)
    e["MICROPYPATH"] = os.path.join(BUILD, "lib")
    return e


def run_mpy(script, args, heapsize=None, prefix=(), timeout=600):
    cmd = list(prefix) + [MPY]
    if heapsize:
        cmd += ["-X", "heapsize=%s" % heapsize]
    cmd += [script] + [str(a) for a in args]
    return subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout)


def result(r):
    for line in r.stdout.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return line[7:]
    raise RuntimeError("bench script failed:\n" + r.stdout[-2000:] + r.stderr[-2000:])


# ---- the same work in numpy/scipy on CPython --------------------------------------------------
def numpy_window(xs, scale=0.0039):
    import numpy as np
    import scipy.signal as ss
    import scipy.stats as st
    n = N
    df = FS / n
    w = ss.get_window("hann", n)
    f = np.fft.rfftfreq(n, 1.0 / FS)
    vsel = (f >= 10) & (f <= 1000)
    wv = 1.0 / (2 * np.pi * f[vsel]) ** 2
    bands = [(2, 10), (10, 100), (100, 1000), (1000, 5000)]
    k0, k1 = int(np.ceil(800 / df)), int(np.ceil(1550 / df))
    mm = 1
    while mm < 2 * (k1 - k0):
        mm *= 2
    wm = ss.get_window("hann", mm)
    out = []
    for x in xs:
        x = x.astype(float)
        mean = x.mean()
        d = x - mean
        rms = np.sqrt(np.mean(d * d))
        pk = np.max(np.abs(d))
        r = {"rms": rms * scale, "pk": pk * scale, "p2p": (x.max() - x.min()) * scale, "cf": pk / rms,
             "sk": st.skew(x), "ku": st.kurtosis(x, fisher=False)}
        X = np.fft.rfft(d * w)
        p = X.real ** 2 + X.imag ** 2
        loc = np.flatnonzero((p[1:-1] > p[:-2]) & (p[1:-1] >= p[2:])) + 1
        top = loc[np.argsort(p[loc])[-5:][::-1]]
        a = np.sqrt(p)
        peaks = []
        for k in top:
            al, ac, ar = a[k - 1], a[k], a[k + 1]
            dd = (2 * ar - ac) / (ar + ac) if ar >= al else -(2 * al - ac) / (al + ac)
            peaks.append(((k + dd) * df, ac))
        r["bands"] = [np.sum(p[(f >= lo) & (f < hi)]) for lo, hi in bands]
        r["vel"] = np.sqrt(np.sum(p[vsel] * wv))
        kr = np.argmax(p[int(10 / df):int(60 / df) + 1]) + int(10 / df)
        f1 = kr * df
        z = np.fft.ifft(np.concatenate([X[k0:k1], np.zeros(mm - (k1 - k0))]))
        e = np.abs(z)
        e = e - e.sum() / wm.sum() * wm
        E = np.abs(np.fft.rfft(e))
        lines = {}
        for dn, m in MULT.items():
            lines[dn] = [E[int(round(m * h * f1 / df)) - 1:int(round(m * h * f1 / df)) + 2].max() for h in (1, 2, 3)]
        r["env"] = lines
        r["export"] = np.sqrt(p[:1024].reshape(256, 4).max(axis=1)).astype(np.uint16)
        out.append(r)
    return out


def bench_numpy():
    import numpy as np
    rng = np.random.default_rng(1)
    xs = [np.round(rng.normal(0, 300, N)).astype(np.int16) for _ in range(3)]
    numpy_window(xs)
    k = 200
    t0 = time.perf_counter()
    for _ in range(k):
        numpy_window(xs)
    return (time.perf_counter() - t0) / k * 1e6


def smallest_heap(script):
    """Smallest heap (KB) from which the run works at that size and the next three: near the limit,
    success is not monotonic in the heap size (fragmentation), so a bisection would be arbitrary."""
    def ok(kb):
        return "RESULT ok" in run_mpy(script, ["heap", 1], heapsize="%dk" % kb).stdout
    for kb in range(32, 257):
        if ok(kb) and ok(kb + 1) and ok(kb + 2) and ok(kb + 3):
            return kb
    return None


def callgrind(script):
    vg = shutil.which("valgrind") or ("/usr/bin/valgrind" if os.path.exists("/usr/bin/valgrind") else None)
    if not vg:
        return None
    counts = {}
    for w in (1, 6):
        d = tempfile.mkdtemp(prefix="vn-cg-")
        out = os.path.join(d, "cg.out")
        r = run_mpy(script, ["viper", w], prefix=[vg, "--tool=callgrind", "--callgrind-out-file=" + out],
                    timeout=1800)
        if r.returncode != 0:
            return None
        m = None
        for line in open(out):
            if line.startswith("summary:") or line.startswith("totals:"):
                m = int(line.split()[1])
        shutil.rmtree(d, ignore_errors=True)
        counts[w] = m
    # the script runs 2 + w windows (warm-up, allocation probe, w timed): the difference is 5
    return (counts[6] - counts[1]) / 5.0


def main():
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "host"], check=True,
                   stdout=subprocess.DEVNULL)
    d = tempfile.mkdtemp(prefix="vn-bench-")
    script = os.path.join(d, "bench_engine.py")
    with open(script, "w") as f:
        f.write(_SCRIPT)
    print("vibenode feature engine bench: 3 axes x %d samples at %d Hz, full feature set "
          "(envelope %s Hz, top-%d, 4 defects x 3 harmonics)" % (N, FS, CFG["envelope"]["band"], CFG["top_k"]))
    v = json.loads(result(run_mpy(script, ["viper", 50])))
    p = json.loads(result(run_mpy(script, ["python", 3])))
    np_us = bench_numpy()
    print("  time per window, viper (compiled, x64 unix port):   %9.0f us" % v["us"])
    print("  time per window, reference as bytecode (same port): %9.0f us   -> viper is %.1fx faster (target >= 100x)"
          % (p["us"], p["us"] / v["us"]))
    print("  time per window, numpy/scipy on CPython:            %9.0f us   -> viper is %.2fx %s (target <= 5x slower)"
          % (np_us, v["us"] / np_us if v["us"] >= np_us else np_us / v["us"],
             "slower" if v["us"] >= np_us else "faster"))
    print("  heap bytes per window after warm-up: compute %d (target 0), result() for telemetry %d"
          % (v["alloc_compute"], v["alloc_result"]))
    h = smallest_heap(script)
    print("  smallest -X heapsize running import + engine + 3x%d windows + results: %s (target <= 48 KB)"
          % (N, ("%d KB" % h) if h else "n/a"))
    print("    of which the engine's code (bytecode and x64 machine code, in the heap on the unix port): %.1f KB;"
          % (v["code"] / 1024.0))
    print("    live data after a window (engine buffers, tables, 3 windows, results): %.1f KB; smallest heap "
          "minus code: %s" % (v["data"] / 1024.0, ("%.1f KB" % (h - v["code"] / 1024.0)) if h else "n/a"))
    ins = callgrind(script)
    if ins is None:
        print("  callgrind: valgrind not available")
    else:
        print("  x64 instructions per window (callgrind): %.2f M (target <= 10 M)" % (ins / 1e6))
        print("  implied ESP32 @ 240 MHz, 1 instruction/cycle: %.1f ms per window (target <= 60 ms; %.1f %% of a "
              "%d-sample window at %d Hz)" % (ins / 240e3, ins / 240e6 / (N / FS) * 100, N, FS))
    import bench_rv32  # the same script on RV32 (ESP32-C3 ISA) under QEMU: instructions, C3 time, heap
    bench_rv32.rv32(_SCRIPT, result, N, FS)
    import bench_stream  # the wide-band streaming path (IIS3DWB, 26.7 kHz): instructions/s, % of a core, heap
    bench_stream.main()
    shutil.rmtree(d, ignore_errors=True)
    import bench_baseline  # baseline learning/judging per window, its memory, report by exception's bytes/hour
    bench_baseline.main()
    import bench_ingest  # the monitor: collector ingest (SQLite, PostgreSQL), simulated nodes' RSS/CPU
    bench_ingest.main()
    import bench_ota  # signed updates: Ed25519 verification time (unix, 32-bit, RV32 -> ESP32 estimate) and heap
    bench_ota.main()
    import memory  # the whole node's heap (tools/memory.py; MPY32=<32-bit micropython> for device figures)
    memory.main([])
    memory.main(["--chip", "iis3dwb", "--cycles", "6"])  # the wide-band node, x streamed (a heap without PSRAM)
    import integ_memory  # Home Assistant discovery and Sparkplug B: code and data (issue 14)
    integ_memory.main([])


if __name__ == "__main__":
    main()
