# The node frozen into a MicroPython firmware image (bytecode, constants, qstrs and viper machine
# code stay in flash instead of the GC heap). Each ESP32 board's manifest.py includes this after
# the port's default manifest; `make firmware BOARD=<name>` (tools/firmware.py) builds the image.
# Same layout as the .mpy tree of tools/build.py: main.py, vibenode, every package under lib/,
# boards/common as `boardcommon`, the board's board.py (its own manifest adds that).
# Whole packages are frozen, so modules added to or split out of them follow without an edit here;
# tests/test_frozen.py checks that this is exactly what the node imports.
import os
import shutil

# main.py frozen: the image boots the node with only config.json (and secrets) on the filesystem.
# (MicroPython runs a frozen main.py in preference to one on the filesystem; boot.py still runs first.)
module("main.py", base_path="../firmware")
module("appsel.py", base_path="../firmware")  # the A/B app tree choice main.py makes (lib/ota)
package("vibenode", base_path="../firmware")
for _p in sorted(os.listdir("../lib")):
    if os.path.isfile(os.path.join("../lib", _p, "__init__.py")):
        package(_p, base_path="../lib")

# boards/common is the package `boardcommon` on a device; package() freezes a folder under its own
# name, so a copy is staged as build/frozen/boardcommon.
_stage = os.path.abspath("../build/frozen")
shutil.rmtree(os.path.join(_stage, "boardcommon"), ignore_errors=True)
os.makedirs(os.path.join(_stage, "boardcommon"))
for _f in sorted(os.listdir("common")):
    if _f.endswith(".py"):
        shutil.copyfile(os.path.join("common", _f), os.path.join(_stage, "boardcommon", _f))
package("boardcommon", base_path=_stage)

