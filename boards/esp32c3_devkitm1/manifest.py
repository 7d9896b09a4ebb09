# Frozen firmware for the Espressif ESP32-C3-DevKitM-1 (ESP32-C3-MINI-1): `make firmware BOARD=esp32c3_devkitm1` (tools/firmware.py).
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules (_boot, inisetup, ...)
include("../manifest_node.py")  # the node: main.py, vibenode, lib/*, boardcommon
module("board.py")
