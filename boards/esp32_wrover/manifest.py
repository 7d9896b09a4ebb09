# Frozen firmware for the ESP32-WROVER-E (PSRAM; frozen code still keeps the heap for data):
# `make firmware BOARD=esp32_wrover` (tools/firmware.py).
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules (_boot, inisetup, ...)
include("../manifest_node.py")  # the node: main.py, vibenode, lib/*, boardcommon
module("board.py")
