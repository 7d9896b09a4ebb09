"""The wide-band streaming path's cost (issue 11), for `make bench` (tools/bench.py calls main()).

What one second of 26.667 kHz signal costs the node: de-tagging the FIFO words (sensors/detag.py)
and the streaming kernel (features/stream.py: band-pass, rectify, decimate, HF, moments) for every
128-sample block, plus the once-per-window spectra (finish(), one 32768-sample window = 1.23 s),
for one axis and for three. Measured as instructions, not time:
  - x64 under valgrind --tool=callgrind (the unix port, compiled viper), difference of two runs;
  - RV32 (ESP32-C3's rv32imc machine code) under QEMU -icount (tools/bench_rv32.py's runner);
and the share of one core that implies at 240 MHz (ESP32) and 160 MHz (ESP32-C3), one instruction
per cycle (target <= 25 % for one axis). Also heap bytes allocated per block (target 0) and the
heap the streaming state takes on the 32-bit model (../shared/tools/micropython-i386, x86 build).
The SPI transfer itself (7 bytes x 26 667 words/s at 10 MHz: 15 % of the bus, DMA) is not CPU work
counted here.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
RATE = 26667
BLOCK = 128
PER_S = RATE / float(BLOCK)  # blocks per second
WIN = 2048 * 16  # samples per envelope window
MPY32 = os.environ.get("MPY32") or os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-i386",
                                                 "micropython")

SCRIPT = r"""
import array, gc, json, sys, time
axes = int(sys.argv[2])
blocks = int(sys.argv[3])
fins = int(sys.argv[4])
gc.collect()
m0 = gc.mem_alloc()
from features.stream import StreamFeatures
from sensors.detag import detag_into
gc.collect()
m1 = gc.mem_alloc()
from features.engine import FeatureEngine
win = FeatureEngine(2048, 26667)  # FFT work buffers for the stream (the node makes them early: setup.work_buffers)
gc.collect()
mw = gc.mem_alloc()
f = StreamFeatures(26667, 0.000244, axes=axes, fcfg={"rpm": 1796, "bearing": {"multiples": {"BPFO": 3.5848,
                   "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}}}, work=win.work())
raw = bytearray(7 * 128)
blk = array.array("h", bytes(6 * 128))
gc.collect()
m2 = gc.mem_alloc()
seed = 1
for i in range(128):
    raw[7 * i] = 0x10
    for a in range(3):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        v = ((seed >> 8) & 0x3FF) - 512 + (1500 if i % 37 == 0 else 0)
        raw[7 * i + 1 + 2 * a] = v & 0xFF
        raw[7 * i + 2 + 2 * a] = (v >> 8) & 0xFF
feed = f.feed
def block():
    detag_into(blk, 0, raw, 128)
    feed(blk, 128)
for _ in range(4):
    block()
gc.collect()
a0 = gc.mem_alloc()
for _ in range(16):
    block()
a1 = gc.mem_alloc()
t0 = time.ticks_us()
for _ in range(blocks):
    block()
t1 = time.ticks_us()
for _ in range(fins):
    f.finish()
t2 = time.ticks_us()
print("RESULT " + json.dumps({"impl": f.eng.impl, "alloc_block": a1 - a0, "us_block": time.ticks_diff(t1, t0) / max(blocks, 1),
      "us_finish": time.ticks_diff(t2, t1) / max(fins, 1), "code": m1 - m0, "data": m2 - mw}))
"""


def _result(out):
    for line in out.splitlines()[::-1]:
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError("bench_stream script failed:\n" + out[-2000:])


def _run(script, args, interp=None, lib=None, prefix=(), timeout=900):
    env = dict(os.environ)
    env["MICROPYPATH"] = lib or os.path.join(ROOT, "build", "host", "lib")
    cmd = list(prefix) + [interp or os.path.join(ROOT, ".venv", "bin", "micropython"), script] + [str(a) for a in args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    return r


def _callgrind(script, axes):
    """x64 instructions per block and per finish(): differences of runs with more blocks / finishes."""
    vg = shutil.which("valgrind")
    if not vg:
        return None
    counts = {}
    for key, blocks, fins in (("a", 20, 1), ("b", 220, 1), ("c", 20, 3)):
        d = tempfile.mkdtemp(prefix="vn-cgs-")
        out = os.path.join(d, "cg.out")
        r = _run(script, ["viper", axes, blocks, fins], prefix=[vg, "--tool=callgrind", "--callgrind-out-file=" + out])
        if r.returncode != 0:
            return None
        for line in open(out):
            if line.startswith("summary:") or line.startswith("totals:"):
                counts[key] = int(line.split()[1])
        shutil.rmtree(d, ignore_errors=True)
    return (counts["b"] - counts["a"]) / 200.0, (counts["c"] - counts["a"]) / 2.0


def _per_second(ins_block, ins_finish):
    return ins_block * PER_S + ins_finish * RATE / float(WIN)


def main():
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "host"], check=True,
                   stdout=subprocess.DEVNULL)
    d = tempfile.mkdtemp(prefix="vn-bench-stream-")
    script = os.path.join(d, "bench_stream.py")
    with open(script, "w") as f:
        f.write(SCRIPT)
    print("vibenode wide-band streaming bench (IIS3DWB, %d Hz, %d-sample blocks, envelope window %d samples):"
          % (RATE, BLOCK, WIN))
    out = {}
    for axes in (1, 3):
        v = _result(_run(script, ["viper", axes, 200, 2]).stdout)
        print("  %d ax%s: x64 unix port %.0f us per block (%.1f %% of real time on this host), %.1f ms per finish(); "
              "heap per block %d bytes (target 0)" % (axes, "is" if axes == 1 else "es", v["us_block"],
                                                      v["us_block"] / (1e6 / PER_S) * 100, v["us_finish"] / 1e3,
                                                      v["alloc_block"]))
        cg = _callgrind(script, axes)
        if cg:
            ips = _per_second(*cg)
            out[axes] = ips
            print("    x64 callgrind: %.0f k instructions per block, %.2f M per finish() -> %.1f M instructions per "
                  "second of signal = %.1f %% of a 240 MHz ESP32 core (target <= 25 %% for one axis)"
                  % (cg[0] / 1e3, cg[1] / 1e6, ips / 1e6, ips / 240e6 * 100))
        else:
            print("    callgrind: valgrind not available")
    import bench_rv32
    for axes in (1, 3):
        argv = "import sys\nsys.argv.clear()\nsys.argv.extend(['bench', 'viper', '%d', '100', '1'])\n" % axes
        o = bench_rv32.run_script(argv + SCRIPT)
        if o is None:
            print("  RV32: runner or qemu-system-riscv32 missing")
            break
        try:
            v = _result(o)
        except RuntimeError as e:
            print("  RV32 %d axes: failed (%s)" % (axes, str(e)[:200]))
            continue
        ips = _per_second(v["us_block"] * 1000.0, v["us_finish"] * 1000.0)
        print("  RV32 (rv32imc viper, QEMU -icount) %d ax%s: %.0f k instructions per block, %.2f M per finish() -> "
              "%.1f M per second = %.1f %% of a 160 MHz ESP32-C3 core; heap per block %d bytes"
              % (axes, "is" if axes == 1 else "es", v["us_block"], v["us_finish"] / 1e3, ips / 1e6, ips / 160e6 * 100,
                 v["alloc_block"]))
    if os.path.exists(MPY32):
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "host", "--arch", "x86"], check=True,
                       stdout=subprocess.DEVNULL)
        for axes in (1, 3):
            r = _run(script, ["viper", axes, 4, 0], interp=MPY32, lib=os.path.join(ROOT, "build", "host-x86", "lib"))
            try:
                v = _result(r.stdout)
            except RuntimeError:
                print("  32-bit heap: run failed: %s" % (r.stdout + r.stderr)[-300:])
                break
            print("  32-bit model heap (micropython-i386, x86 .mpy): code %.1f KB (features.stream, streamk, engine, fft, "
                  "...), streaming state for %d ax%s %.1f KB (beside the FFT work buffers it shares)" % (v["code"] / 1024.0, axes, "is" if axes == 1 else "es",
                                                                  v["data"] / 1024.0))
    shutil.rmtree(d, ignore_errors=True)
    return out


if __name__ == "__main__":
    main()
