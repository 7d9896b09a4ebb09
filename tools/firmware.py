#!/usr/bin/env python3
"""Build a MicroPython firmware image with the node frozen in: `make firmware BOARD=<name>`.

Frozen modules keep bytecode, constants, qstrs and viper machine code in flash instead of the GC
heap (what boards without PSRAM need). boards/<board>/manifest.py says what is frozen (the port's
default modules, then the node: boards/manifest_node.py, then the board's board.py); board.py's
IMAGE names the MicroPython board (and variant) it is built on, e.g. ESP32_GENERIC or
ESP32_GENERIC-SPIRAM.

Needs a MicroPython checkout (MPY_DIR=, with its submodules) and ESP-IDF (IDF_PATH=, the version
that MicroPython release names); without them it stops with a one-line instruction. Output:
build/firmware/<board>/firmware.bin (and the bootloader / partition table beside it).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import build as buildmod  # noqa: E402

USAGE = ("firmware: needs a MicroPython checkout and ESP-IDF: "
         "make firmware BOARD=%s MPY_DIR=<micropython checkout> IDF_PATH=<esp-idf> (see README, Frozen firmware)")


def image(board):
    """(MicroPython board, variant or None) from boards/<board>/board.py's IMAGE."""
    path = os.path.join(ROOT, "boards", board, "board.py")
    m = re.search(r'^IMAGE\s*=\s*"([A-Z0-9_]+)(?:-([A-Z0-9_]+))?"', open(path).read(), re.M) \
        if os.path.exists(path) else None
    if not m:
        sys.exit("firmware: board %r has no IMAGE in boards/%s/board.py (boards with one: %s)"
                 % (board, board, ", ".join(frozen_boards())))
    return m.group(1), m.group(2)


def frozen_boards():
    return [b for b in buildmod.boards() if os.path.exists(os.path.join(ROOT, "boards", b, "manifest.py"))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("board")
    ap.add_argument("--mpy-dir", default=os.environ.get("MPY_DIR") or None)
    ap.add_argument("--idf-path", default=os.environ.get("IDF_PATH") or None)
    a = ap.parse_args()
    manifest = os.path.join(ROOT, "boards", a.board, "manifest.py")
    if not os.path.exists(manifest):
        sys.exit("firmware: no boards/%s/manifest.py (boards with one: %s)" % (a.board, ", ".join(frozen_boards())))
    mp_board, variant = image(a.board)
    port = os.path.join(a.mpy_dir or "", "ports", "esp32")
    if not a.mpy_dir or not a.idf_path or not os.path.isdir(port) \
            or not os.path.exists(os.path.join(a.idf_path, "export.sh")):
        sys.exit(USAGE % a.board)
    build_dir = "build-%s%s-vibenode-%s" % (mp_board, "-" + variant if variant else "", a.board)
    make = ["make", "-C", port, "BOARD=" + mp_board, "BUILD=" + build_dir, "FROZEN_MANIFEST=" + manifest]
    if variant:
        make.append("BOARD_VARIANT=" + variant)
    steps = ["make -C %s/mpy-cross" % shquote(a.mpy_dir),
             " ".join(shquote(x) for x in make + ["submodules"]),
             " ".join(shquote(x) for x in make)]
    script = ". %s/export.sh >/dev/null && %s" % (shquote(a.idf_path), " && ".join(steps))
    print("firmware: %s -> MicroPython %s%s, FROZEN_MANIFEST=%s" % (a.board, mp_board, "-" + variant if variant else "",
                                                                  os.path.relpath(manifest, ROOT)))
    r = subprocess.run(["bash", "-c", script])
    if r.returncode:
        sys.exit("firmware: the MicroPython/ESP-IDF build failed (exit %d)" % r.returncode)
    out = os.path.join(ROOT, "build", "firmware", a.board)
    os.makedirs(out, exist_ok=True)
    for fn in ("firmware.bin", "micropython.bin", "bootloader/bootloader.bin", "partition_table/partition-table.bin"):
        src = os.path.join(port, build_dir, fn)
        if os.path.exists(src):
            shutil.copy(src, out)
    print("firmware: images in %s" % os.path.relpath(out, ROOT))


def shquote(s):
    import shlex
    return shlex.quote(s)


if __name__ == "__main__":
    main()
