# Espressif ESP32-S3-DevKitC-1 (ESP32-S3-WROOM-1/-1U, N8R8 etc.), 240 MHz dual-core Xtensa LX7.
#
# Wiring (3.3 V logic):
#   I2C0  SDA GPIO8, SCL GPIO9 (400 kHz; 4.7 kOhm pull-ups on the sensor board)
#   SPI   SPI2 (FSPI) = MicroPython SPI(1) on its IO MUX pins: SCK GPIO12, MOSI GPIO11, MISO GPIO13
#   CS    GPIO10 accelerometer (FSPI CS0), GPIO14 MAX31865
#   INT   GPIO4 = accelerometer INT1 (FIFO watermark), GPIO5 = INT2 / MAX31865 DRDY (unused)
# Avoided: GPIO0/3/45/46 (strapping), GPIO19/20 (USB), GPIO43/44 (UART0 console), GPIO26-32
# (flash), GPIO35-37 (octal PSRAM on N8R8 modules), GPIO38/48 (RGB LED, by board revision).
from boardcommon.esp32 import board_class

NAME = "esp32s3_devkitc1"
ARCH = "xtensawin"
MCU = "ESP32-S3 (WROOM-1)"
IMAGE = "ESP32_GENERIC_S3"  # the MicroPython image `make firmware` freezes the node into

PINS = {
    "i2c0": {"id": 0, "sda": 8, "scl": 9, "freq": 400000},
    "spi1": {"id": 1, "sck": 12, "mosi": 11, "miso": 13, "baudrate": 8000000},
    "cs_accel": 10,
    "cs_rtd": 14,
    "int1": 4,
    "int2": 5,
}

Board = board_class(NAME, ARCH, PINS)
ACCEL_SLOTS = Board.ACCEL_SLOTS
TEMP_SLOTS = Board.TEMP_SLOTS
make = Board.make
