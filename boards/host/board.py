# The host board: the whole node on the MicroPython unix port, with emulated sensors.
#
# It builds the node's hardware world from the config's `board` section:
#   "board": {"name": "host", "realtime": false,
#             "chips": ["adxl345@i2c0:0x53"],         # what is wired where
#             "sim": {...}}                            # the machine (see simulator.py)
# and hands the node the same things an ESP32 board does: clock, buses, pins, WDT, WLAN.
import machine
import network

from simclock import SimClock
from simulator import MachineSim

NAME = "host"
ARCH = "x64"
MCU = "MicroPython unix port"

# what may sit where: (chip, bus, address or CS pin)
ACCEL_SLOTS = [
    ("adxl345", "i2c0", 0x53),
    ("adxl345", "i2c0", 0x1D),
    ("adxl345", "spi1", 5),
    ("lis3dh", "i2c0", 0x18),
    ("lis3dh", "i2c0", 0x19),
    ("lis3dh", "spi1", 5),
    ("mpu6050", "i2c0", 0x68),
    ("mpu6050", "i2c0", 0x69),
    ("adxl355", "spi1", 5),
    ("adxl355", "i2c0", 0x1D),
    ("adxl355", "i2c0", 0x53),
    ("iis3dwb", "spi1", 5),
]
TEMP_SLOTS = [
    ("tmp117", "i2c0", 0x48),
    ("tmp117", "i2c0", 0x49),
    ("max31865", "spi1", 15),
]

PINS = {"i2c0": {"scl": 22, "sda": 21}, "spi1": {"sck": 18, "mosi": 23, "miso": 19, "cs": [5, 15]},
        "int1": 4, "int2": 2}

_board = None


def _emulator(chip):
    if chip == "adxl345":
        from emulators.adxl345 import ADXL345Emu
        return ADXL345Emu
    if chip == "lis3dh":
        from emulators.lis3dh import LIS3DHEmu
        return LIS3DHEmu
    if chip == "mpu6050":
        from emulators.mpu6050 import MPU6050Emu
        return MPU6050Emu
    if chip == "adxl355":
        from emulators.adxl355 import ADXL355Emu
        return ADXL355Emu
    if chip == "iis3dwb":
        from emulators.iis3dwb import IIS3DWBEmu
        return IIS3DWBEmu
    if chip == "tmp117":
        from emulators.tmp117 import TMP117Emu
        return TMP117Emu
    if chip == "max31865":
        from emulators.max31865 import MAX31865Emu
        return MAX31865Emu
    raise ValueError("host board: no emulator for chip %r" % (chip,))


class HostBoard:
    NAME = NAME
    ARCH = ARCH
    ACCEL_SLOTS = ACCEL_SLOTS
    TEMP_SLOTS = TEMP_SLOTS

    def __init__(self, bcfg):
        self.cfg = bcfg
        self.clock = SimClock(realtime=bool(bcfg.get("realtime", False)))
        if bcfg.get("realtime", False):
            import time
            self.clock.epoch_offset = int(time.time())  # the host's clock stands in for NTP
        else:
            self.clock.epoch_offset = int(bcfg.get("epoch", 1764000000))
            w = machine.rtc_wake_s()  # after a deep sleep the RTC kept the time (plus the sleep)
            if w is not None:
                self.clock.epoch_offset = w
        machine._clock = self.clock
        self.sim = MachineSim(bcfg.get("sim") or {})
        self.i2c_bus = machine.VirtualI2CBus("i2c0")
        self.spi_bus = machine.VirtualSPIBus("spi1")
        machine._i2c_buses[0] = self.i2c_bus
        machine._spi_buses[1] = self.spi_bus
        self.chips = {}
        self._emus = []
        self.ACCEL_SLOTS = list(ACCEL_SLOTS)  # plus wherever the config puts a chip (add_chip)
        self.TEMP_SLOTS = list(TEMP_SLOTS)
        for spec in bcfg.get("chips", ["adxl345@i2c0:0x53"]):
            self.add_chip(spec)
        # emulated INT pins move while the node sleeps (the sampler may wait on INT1), so the
        # chips catch up with the clock whenever it advances
        self._sleep_us = self.clock.sleep_us
        self.clock.sleep_us = self._sleep_sync
        self._buses = {}
        net = bcfg.get("wifi_available")
        network.available.clear()
        if net is None:
            network.available["plant"] = None
        else:
            for k in net:
                network.available[k] = net[k]

    def add_chip(self, spec):
        """'chip@bus:where', e.g. 'adxl345@i2c0:0x53' or 'adxl345@spi1:5'."""
        chip, rest = spec.split("@")
        bus, where = rest.split(":")
        where = int(where, 0)
        emu = _emulator(chip)(self.clock, self.sim, int1=machine.pin(PINS["int1"]), int2=machine.pin(PINS["int2"]))
        if bus.startswith("i2c"):
            self.i2c_bus.attach(where, emu)
        else:
            self.spi_bus.attach(where, emu)
        self.chips[spec] = emu
        self._emus.append(emu)
        slots = self.TEMP_SLOTS if chip in ("tmp117", "max31865") else self.ACCEL_SLOTS
        if (chip, bus, where) not in slots:
            slots.append((chip, bus, where))  # the host's wiring is what its config says
        return emu

    def bus(self, name):
        b = self._buses.get(name)
        if b is None:
            if name.startswith("i2c"):
                b = ("i2c", machine.I2C(0, scl=machine.Pin(PINS["i2c0"]["scl"]), sda=machine.Pin(PINS["i2c0"]["sda"]),
                                        freq=400000))
            else:
                p = PINS["spi1"]
                b = ("spi", machine.SPI(1, baudrate=5000000, polarity=1, phase=1, sck=machine.Pin(p["sck"]),
                                        mosi=machine.Pin(p["mosi"]), miso=machine.Pin(p["miso"])))
            self._buses[name] = b
        return b

    def pin(self, n):
        return machine.Pin(n, machine.Pin.OUT, value=1)

    def int_pin(self, name="int1"):
        """The accelerometer's interrupt line as an input (None if not wired)."""
        n = PINS.get(name)
        return None if n is None else machine.pin(n)

    def _sleep_sync(self, us):
        self._sleep_us(us)
        for emu in self._emus:  # a list: iterating it allocates nothing
            if emu.present:
                emu.sync()

    def reset_cause(self):
        return {1: "power_on", 2: "hard", 3: "watchdog", 4: "deepsleep", 5: "soft"}.get(machine.reset_cause(),
                                                                                          "unknown")

    def wdt(self, timeout_ms):
        return machine.WDT(timeout=timeout_ms)

    def deepsleep(self, ms):
        machine.deepsleep(ms)  # ends this boot (machine.py): hostboot boots the node again

    def rtc_memory(self, data=None):
        if data is None:
            return machine.RTC().memory()
        machine.RTC().memory(data)

    def wlan(self):
        return network.WLAN(network.STA_IF)

    # firmware image updates (lib/ota): esp32.Partition calls live in boardcommon/fwimage.py (here
    # over boards/host/esp32.py, the emulation)
    def firmware_writer(self, size):
        from boardcommon.fwimage import ImageWriter
        return ImageWriter(size)

    def mark_app_valid(self):
        from boardcommon import fwimage
        fwimage.mark_valid()


def make(cfg):
    global _board
    _board = HostBoard(cfg.get("board") or {})
    return _board
