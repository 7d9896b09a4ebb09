# What the ESP32-family boards share: buses built from the board's pin map, WDT, WLAN.
import machine
import network

from boardcommon.clock import Clock

_RESET = {machine.PWRON_RESET: "power_on", machine.HARD_RESET: "hard", machine.WDT_RESET: "watchdog",
          machine.DEEPSLEEP_RESET: "deepsleep", machine.SOFT_RESET: "soft"}


class ESP32Board:
    NAME = "esp32"
    ARCH = "xtensawin"
    PINS = {}
    ACCEL_SLOTS = []

    def __init__(self, bcfg):
        self.cfg = bcfg
        self.clock = Clock()
        self._buses = {}

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

    def reset_cause(self):
        return _RESET.get(machine.reset_cause(), "unknown")

    def wdt(self, timeout_ms):
        return machine.WDT(timeout=timeout_ms)

    def wlan(self):
        return network.WLAN(network.STA_IF)
