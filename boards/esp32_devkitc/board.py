# Espressif ESP32-DevKitC (ESP32-WROOM-32), 240 MHz dual-core Xtensa LX6.
#
# Wiring (3.3 V logic):
#   I2C0  SDA GPIO21, SCL GPIO22 (400 kHz; 4.7 kOhm pull-ups on the sensor board)
#   SPI2  SCK GPIO18, MOSI GPIO23, MISO GPIO19, CS GPIO5 (accelerometer), GPIO15 (RTD / 2nd chip)
#   INT1  GPIO4, INT2 GPIO2
from boardcommon.esp32 import ESP32Board

NAME = "esp32_devkitc"
ARCH = "xtensawin"
MCU = "ESP32 (WROOM-32)"

PINS = {
    "i2c0": {"id": 0, "sda": 21, "scl": 22, "freq": 400000},
    "spi1": {"id": 2, "sck": 18, "mosi": 23, "miso": 19, "baudrate": 5000000},
    "int1": 4,
    "int2": 2,
}

ACCEL_SLOTS = [
    ("adxl345", "spi1", 5),
    ("adxl345", "i2c0", 0x53),
    ("adxl345", "i2c0", 0x1D),
]


class Board(ESP32Board):
    NAME = NAME
    ARCH = ARCH
    PINS = PINS
    ACCEL_SLOTS = ACCEL_SLOTS


def make(cfg):
    return Board(cfg.get("board") or {})
