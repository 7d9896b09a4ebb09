# Frozen firmware for the Espressif ESP32-DevKitC (ESP32-WROOM-32): `make firmware BOARD=esp32_devkitc` (tools/firmware.py).
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules (_boot, inisetup, ...)
include("../manifest_node.py")  # the node: main.py, vibenode, lib/*, boardcommon
module("board.py")
