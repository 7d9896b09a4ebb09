# Espressif ESP32-DevKitC (ESP32-WROOM-32), 240 MHz dual-core Xtensa LX6.
#
# Wiring (3.3 V logic; sensor boards with their own 3.3 V regulator may take 5 V on VIN):
#   I2C0  SDA GPIO21, SCL GPIO22 (400 kHz; 4.7 kOhm pull-ups on the sensor board)
#   SPI   VSPI = MicroPython SPI(2): SCK GPIO18, MOSI GPIO23, MISO GPIO19 (up to 10 MHz here)
#   CS    GPIO5 accelerometer (VSPI CS0), GPIO17 MAX31865
#   INT   GPIO4 = accelerometer INT1 (FIFO watermark), GPIO16 = INT2 / MAX31865 DRDY (unused)
# Avoided: GPIO0/2/12/15 (strapping), GPIO6-11 (module flash), GPIO34-39 (input only, no pulls).
from boardcommon.esp32 import board_class

NAME = "esp32_devkitc"
ARCH = "xtensawin"
MCU = "ESP32 (WROOM-32)"
IMAGE = "ESP32_GENERIC"  # the MicroPython image `make firmware` freezes the node into

PINS = {
    "i2c0": {"id": 0, "sda": 21, "scl": 22, "freq": 400000},
    "spi1": {"id": 2, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 5000000},
    "cs_accel": 5,
    "cs_rtd": 17,
    "int1": 4,
    "int2": 16,
}

Board = board_class(NAME, ARCH, PINS)
ACCEL_SLOTS = Board.ACCEL_SLOTS
TEMP_SLOTS = Board.TEMP_SLOTS
make = Board.make
