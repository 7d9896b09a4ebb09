# What the ESP32-family boards share: buses built from the board's pin map, WDT, WLAN.
import machine
import network

from boardcommon.clock import Clock

_RESET = {machine.PWRON_RESET: "power_on", machine.HARD_RESET: "hard", machine.WDT_RESET: "watchdog",
          machine.DEEPSLEEP_RESET: "deepsleep", machine.SOFT_RESET: "soft"}


# What may sit where on every ESP32-family board here (the board's PINS say which GPIOs carry
# "i2c0", "spi1", the chip selects "cs_accel" / "cs_rtd" and the INT lines "int1" / "int2").
def accel_slots(cs):
    return [
        ("adxl345", "spi1", cs), ("adxl355", "spi1", cs), ("lis3dh", "spi1", cs), ("iis3dwb", "spi1", cs),
        ("adxl345", "i2c0", 0x53), ("adxl345", "i2c0", 0x1D),
        ("adxl355", "i2c0", 0x1D), ("adxl355", "i2c0", 0x53),
        ("lis3dh", "i2c0", 0x18), ("lis3dh", "i2c0", 0x19),
        ("mpu6050", "i2c0", 0x68), ("mpu6050", "i2c0", 0x69),
    ]


def temp_slots(cs):
    return [("tmp117", "i2c0", 0x48), ("tmp117", "i2c0", 0x49), ("tmp117", "i2c0", 0x4A),
            ("tmp117", "i2c0", 0x4B), ("max31865", "spi1", cs)]


class ESP32Board:
    NAME = "esp32"
    ARCH = "xtensawin"
    PINS = {}
    ACCEL_SLOTS = []
    TEMP_SLOTS = []

    def __init__(self, bcfg):
        self.cfg = bcfg
        self.clock = Clock()
        self._buses = {}

    @classmethod
    def make(cls, cfg):
        return cls(cfg.get("board") or {})

    def bus(self, name):
        b = self._buses.get(name)
        if b is None:
            p = self.PINS[name]
            if name.startswith("i2c"):
                b = ("i2c", machine.I2C(p["id"], scl=machine.Pin(p["scl"]), sda=machine.Pin(p["sda"]),
                                        freq=p.get("freq", 400000)))
            else:
                b = ("spi", machine.SPI(p["id"], baudrate=p.get("baudrate", 5000000), polarity=1, phase=1,
                                        sck=machine.Pin(p["sck"]), mosi=machine.Pin(p["mosi"]),
                                        miso=machine.Pin(p["miso"])))
            self._buses[name] = b
        return b

    def pin(self, n):
        return machine.Pin(n, machine.Pin.OUT, value=1)

    def int_pin(self, name="int1"):
        """The accelerometer's INT line as an input (push-pull, active high), None if unwired."""
        n = self.PINS.get(name)
        return None if n is None else machine.Pin(n, machine.Pin.IN)

    def reset_cause(self):
        return _RESET.get(machine.reset_cause(), "unknown")

    def wdt(self, timeout_ms):
        return machine.WDT(timeout=timeout_ms)

    # ---- deep sleep (vibenode/duty.py): the RTC keeps its memory (2 KB) and the time ----------
    def deepsleep(self, ms):
        try:
            network.WLAN(network.STA_IF).active(False)  # the radio off first (ESP-IDF: esp_wifi_stop before sleep)
        except Exception:
            pass
        machine.deepsleep(ms)  # never returns: the chip boots with reset cause "deepsleep"

    def rtc_memory(self, data=None):
        """RTC slow memory (kept across deep sleep and resets, lost at power-on): bytes, or store data."""
        if data is None:
            return machine.RTC().memory()
        machine.RTC().memory(data)

    def wlan(self):
        return network.WLAN(network.STA_IF)

    # firmware image updates (lib/ota): esp32.Partition calls live in boardcommon/fwimage.py
    def firmware_writer(self, size):
        from boardcommon.fwimage import ImageWriter
        return ImageWriter(size)

    def mark_app_valid(self):
        from boardcommon import fwimage
        fwimage.mark_valid()


def board_class(name, arch, pins):
    """The Board class of one ESP32-family board: its pin map, and the chips that may sit on its
    buses (chip selects "cs_accel" / "cs_rtd" from the pin map)."""

    class Board(ESP32Board):
        NAME = name
        ARCH = arch
        PINS = pins
        ACCEL_SLOTS = accel_slots(pins["cs_accel"])
        TEMP_SLOTS = temp_slots(pins["cs_rtd"])

    return Board
