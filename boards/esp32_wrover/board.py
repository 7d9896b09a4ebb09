# ESP32-WROVER-E (8 MB PSRAM) on a DevKitC-VE-style board, 240 MHz dual-core Xtensa LX6.
# MicroPython image ESP32_GENERIC-SPIRAM: the PSRAM gives the GC heap megabytes.
#
# Wiring (3.3 V logic; sensor boards with their own 3.3 V regulator may take 5 V on VIN):
#   I2C0  SDA GPIO21, SCL GPIO22 (400 kHz; 4.7 kOhm pull-ups on the sensor board)
#   SPI   VSPI = MicroPython SPI(2): SCK GPIO18, MOSI GPIO23, MISO GPIO19 (up to 10 MHz here)
#   CS    GPIO25 accelerometer, GPIO26 MAX31865
#   INT   GPIO4 = accelerometer INT1 (FIFO watermark), GPIO27 = INT2 / MAX31865 DRDY (unused)
# Avoided: GPIO16/17 (the PSRAM's clock and chip select on WROVER modules), GPIO0/2/5/12/15
# (strapping; GPIO12 also sets the flash voltage), GPIO6-11 (module flash), GPIO1/3 (console UART),
# GPIO34-39 (input only, no pulls).
from boardcommon.esp32 import board_class

NAME = "esp32_wrover"
ARCH = "xtensawin"
MCU = "ESP32 (WROVER-E, 8 MB PSRAM)"
IMAGE = "ESP32_GENERIC-SPIRAM"  # the MicroPython image `make firmware` freezes the node into

PINS = {
    "i2c0": {"id": 0, "sda": 21, "scl": 22, "freq": 400000},
    "spi1": {"id": 2, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 5000000},
    "cs_accel": 25,
    "cs_rtd": 26,
    "int1": 4,
    "int2": 27,
}

Board = board_class(NAME, ARCH, PINS)
ACCEL_SLOTS = Board.ACCEL_SLOTS
TEMP_SLOTS = Board.TEMP_SLOTS
make = Board.make
