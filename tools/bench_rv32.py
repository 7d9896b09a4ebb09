"""The feature engine on an emulated 32-bit RISC-V CPU (the ESP32-C3's rv32imc machine code from
`make build BOARD=esp32c3_devkitm1`), for `make bench` (tools/bench.py calls rv32()).

../shared/tools/micropython-rv32-qemu/run (or RV32=<path>) boots MicroPython in QEMU with
`-icount shift=0`: one guest instruction is one nanosecond of guest time, so the bench script's
time.ticks_us() per window is instructions per window in thousands. An ESP32-C3 at 160 MHz retires
roughly one instruction per cycle, so that count also gives its time per window. The heap figure is
gc.mem_alloc() growth over one steady window (the engine's .mpy code runs in place from ROMFS there).
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.environ.get("RV32") or os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-rv32-qemu",
                                                "run")
C3_HZ = 160e6
WINDOWS = 5


def run_script(script_text, heap="140k", timeout=900):
    """Run MicroPython source on RV32 with the esp32c3 build as ROMFS; returns stdout (None: no runner)."""
    if not os.path.exists(RUNNER) or not shutil.which("qemu-system-riscv32"):
        return None
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "build.py"), "esp32c3_devkitm1"], check=True,
                   stdout=subprocess.DEVNULL)
    d = tempfile.mkdtemp(prefix="vn-rv32-")
    path = os.path.join(d, "bench_rv32.py")
    with open(path, "w") as f:
        f.write(script_text)
    try:
        r = subprocess.run([RUNNER, "--heap", heap, os.path.join(ROOT, "build", "esp32c3_devkitm1"), path], cwd=ROOT,
                           capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, MPREMOTE=os.path.join(ROOT, ".venv", "bin", "mpremote")))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return r.stdout + r.stderr


def rv32(bench_script, result, n, fs):
    """Print the RV32 figures for bench_script (tools/bench.py's engine script, which takes
    argv = [mode, windows]: here set in the script, as QEMU's MicroPython gets no argv)."""
    argv = "import sys\nsys.argv.clear()\nsys.argv.extend(['bench', 'viper', '%d'])\n" % WINDOWS
    out = run_script(argv + bench_script)
    if out is None:
        print("  RV32 (ESP32-C3 ISA, QEMU): runner or qemu-system-riscv32 missing (%s; apt-get install "
              "qemu-system-misc)" % RUNNER)
        return None
    import json
    v = json.loads(result(subprocess.CompletedProcess([], 0, out, "")))
    ins = v["us"] * 1000.0
    print("  RV32 instructions per window (rv32imc viper, QEMU -icount, %d windows): %.2f M" % (WINDOWS, ins / 1e6))
    print("  implied ESP32-C3 @ 160 MHz, 1 instruction/cycle: %.1f ms per window (%.1f %% of a %d-sample window at "
          "%d Hz)" % (ins / C3_HZ * 1e3, ins / C3_HZ / (n / float(fs)) * 100, n, fs))
    print("  RV32 heap bytes per steady window: compute %d (target 0), result() for telemetry %d; engine %s"
          % (v["alloc_compute"], v["alloc_result"], v["impl"]))
    return v


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import bench
    rv32(bench._SCRIPT, bench.result, bench.N, bench.FS)
