# Sensor detection on the board's buses.
#
# The board lists which chips may sit where: board.ACCEL_SLOTS and board.TEMP_SLOTS, lists of
# (chip, bus_name, I2C address or SPI chip-select pin). The config may pin one:
#   "sensors": {"accel": {"chip": "lis3dh", "bus": "i2c0", "addr": 24},
#               "temp":  {"chip": "max31865", "rref": 430, "r0": 100, "wires": 3}}
# I2C slots are first filtered by an address scan (one scan per bus), then every candidate is
# tried by its ID register (MAX31865: by a threshold register's read-back); the first that
# answers correctly wins. Errors name every slot tried; the error's `silent` is True when nothing
# answered on any slot (no ACK, ID registers reading 0x00/0xFF): no such sensor is fitted.
import sys

from sensors.errors import ABSENT, SensorError, name_of
from sensors.regbus import I2CRegs, SPIRegs

ACCELS = ("adxl345", "lis3dh", "mpu6050", "adxl355", "iis3dwb")
TEMPS = ("tmp117", "max31865")


def chip_class(name):
    if name == "adxl345":
        from sensors.adxl345 import ADXL345
        return ADXL345
    if name == "lis3dh":
        from sensors.lis3dh import LIS3DH
        return LIS3DH
    if name == "mpu6050":
        from sensors.mpu6050 import MPU6050
        return MPU6050
    if name == "adxl355":
        from sensors.adxl355 import ADXL355
        return ADXL355
    if name == "iis3dwb":
        from sensors.iis3dwb import IIS3DWB
        return IIS3DWB
    if name == "tmp117":
        from sensors.tmp117 import TMP117
        return TMP117
    if name == "max31865":
        from sensors.max31865 import MAX31865
        return MAX31865
    raise OSError("unsupported sensor chip %r" % (name,))


def _unload(mod):
    sys.modules.pop(mod, None)
    try:
        delattr(sys.modules["sensors"], mod[8:])  # (the package's attribute holds it too)
    except (AttributeError, KeyError, TypeError):
        pass


def regs_for(board, cls, bus_name, where):
    kind, bus = board.bus(bus_name)
    if kind == "i2c":
        return I2CRegs(bus, where, getattr(cls, "I2C_INC", 0))
    sp = cls.SPI
    return SPIRegs(bus, board.pin(where), read=sp["read"], multi=sp["multi"], addr_mask=sp.get("addr_mask", 0x3F),
                   shift=sp.get("shift", 0), polarity=sp["polarity"], phase=sp["phase"], baudrate=sp["baudrate"],
                   write=sp.get("write", 0))


def _slots(board, attr, want, kind):
    slots = list(getattr(board, attr, ()) or ())
    if want.get("chip"):
        slots = [s for s in slots if s[0] == want["chip"]
                 and (want.get("bus") is None or s[1] == want["bus"])
                 and (want.get("addr") is None or s[2] == want["addr"])]
        if not slots:
            raise SensorError(ABSENT, "config pins %s %s, which board %s cannot carry"
                              % (kind, want, getattr(board, "NAME", "?")))
    return slots


def _scan(board, bus_name, cache):
    if bus_name not in cache:
        kind, bus = board.bus(bus_name)
        try:
            cache[bus_name] = set(bus.scan()) if kind == "i2c" else None
        except OSError:
            cache[bus_name] = set()
    return cache[bus_name]


def _find(board, cfg, attr, kind, make):
    want = (cfg.get("sensors") or {}).get(kind) or {}
    errors = []
    scans = {}
    silent = True
    for chip, bus_name, where in _slots(board, attr, want, kind):
        if bus_name.startswith("i2c"):
            found = _scan(board, bus_name, scans)
            if found and where not in found:  # (an empty scan may be a stuck bus: probe anyway)
                errors.append("%s@%s:0x%02x: no ACK in scan" % (chip, bus_name, where))
                continue
        had = [k for k in sys.modules if k.startswith("sensors.")]
        try:
            cls = chip_class(chip)
            return make(cls, regs_for(board, cls, bus_name, where), want)
        except OSError as e:
            errors.append("%s@%s:%s: %s" % (chip, bus_name, where, e))
            silent = silent and name_of(e) == ABSENT
        cls = None
        for k in [k for k in sys.modules if k.startswith("sensors.") and k not in had]:
            _unload(k)  # a driver for a chip that is not there (and its helpers): its code leaves the heap
        had = None
    e = SensorError(ABSENT, "no %s found (%s)" % ("accelerometer" if kind == "accel" else "temperature sensor",
                                                  "; ".join(errors[-4:]) or "no slots"))
    e.silent = silent
    raise e


def find_accel(board, cfg):
    """The first accelerometer that answers in the board's ACCEL_SLOTS (or the pinned one)."""
    return _find(board, cfg, "ACCEL_SLOTS", "accel", lambda cls, regs, want: cls(regs))


def _make_temp(cls, regs, want):
    if cls.NAME == "max31865":
        t = cls(regs, rref=want.get("rref", 430.0), r0=want.get("r0", 100.0))
        t.configure(wires=want.get("wires", 2), filter_hz=want.get("filter_hz", 50))
    else:
        t = cls(regs)
        t.configure(averages=want.get("averages", 8), cycle_ms=want.get("cycle_ms", 1000),
                    low_c=want.get("low_c"), high_c=want.get("high_c"))
    return t


def find_temp(board, cfg):
    """The first temperature sensor that answers in board.TEMP_SLOTS, configured."""
    return _find(board, cfg, "TEMP_SLOTS", "temp", _make_temp)
