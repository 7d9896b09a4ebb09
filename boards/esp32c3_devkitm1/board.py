# Espressif ESP32-C3-DevKitM-1 (ESP32-C3-MINI-1), 160 MHz single-core RISC-V (rv32imc).
#
# Wiring (3.3 V logic):
#   I2C0  SDA GPIO1, SCL GPIO0 (400 kHz; 4.7 kOhm pull-ups on the sensor board)
#   SPI   SPI2 = MicroPython SPI(1) through the GPIO matrix: SCK GPIO6, MOSI GPIO7, MISO GPIO5
#   CS    GPIO10 accelerometer, GPIO3 MAX31865
#   INT   GPIO4 = accelerometer INT1 (FIFO watermark); INT2 not wired
# Avoided: GPIO2/8/9 (strapping; GPIO8 also drives the RGB LED, GPIO9 the BOOT button),
# GPIO18/19 (USB), GPIO20/21 (UART0 console), GPIO11-17 (flash).
# Single core, no second thread: the node's acquire -> compute -> report cycle suits it as is.
from boardcommon.esp32 import board_class

NAME = "esp32c3_devkitm1"
ARCH = "rv32imc"
MCU = "ESP32-C3 (MINI-1)"
IMAGE = "ESP32_GENERIC_C3"  # the MicroPython image `make firmware` freezes the node into

PINS = {
    "i2c0": {"id": 0, "sda": 1, "scl": 0, "freq": 400000},
    "spi1": {"id": 1, "sck": 6, "mosi": 7, "miso": 5, "baudrate": 8000000},
    "cs_accel": 10,
    "cs_rtd": 3,
    "int1": 4,
}

Board = board_class(NAME, ARCH, PINS)
ACCEL_SLOTS = Board.ACCEL_SLOTS
TEMP_SLOTS = Board.TEMP_SLOTS
make = Board.make
