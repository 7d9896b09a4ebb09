# Frozen firmware for the Espressif ESP32-S3-DevKitC-1 (ESP32-S3-WROOM-1/-1U: `make firmware BOARD=esp32s3_devkitc1` (tools/firmware.py).
include("$(PORT_DIR)/boards/manifest.py")  # the port's own frozen modules (_boot, inisetup, ...)
include("../manifest_node.py")  # the node: main.py, vibenode, lib/*, boardcommon
module("board.py")
