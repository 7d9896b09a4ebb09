# Sensor detection on the board's buses.
#
# The board lists which chips may sit where (board.ACCEL_SLOTS: (chip, bus_name, addr_or_cs)).
# The config may pin one: sensors.accel = {"chip": "adxl345", "bus": "i2c0", "addr": 83}.
# Each candidate is tried by its ID register; the first that answers correctly wins.
from sensors.regbus import I2CRegs, SPIRegs


def accel_class(name):
    if name == "adxl345":
        from sensors.adxl345 import ADXL345
        return ADXL345
    raise OSError("unsupported accelerometer %r" % (name,))


def regs_for(board, cls, bus_name, where):
    kind, bus = board.bus(bus_name)
    if kind == "i2c":
        return I2CRegs(bus, where, getattr(cls, "I2C_INC", 0))
    sp = cls.SPI
    return SPIRegs(bus, board.pin(where), read=sp["read"], multi=sp["multi"], addr_mask=sp.get("addr_mask", 0x3F),
                   shift=sp.get("shift", 0), polarity=sp["polarity"], phase=sp["phase"], baudrate=sp["baudrate"])


def find_accel(board, cfg):
    want = (cfg.get("sensors") or {}).get("accel") or {}
    slots = board.ACCEL_SLOTS
    if want.get("chip"):
        slots = [s for s in slots if s[0] == want["chip"]
                 and (want.get("bus") is None or s[1] == want["bus"])
                 and (want.get("addr") is None or s[2] == want["addr"])]
        if not slots:
            raise OSError("config pins accelerometer %s, which this board cannot carry" % (want,))
    errors = []
    for chip, bus_name, where in slots:
        try:
            cls = accel_class(chip)
            regs = regs_for(board, cls, bus_name, where)
            return cls(regs)
        except OSError as e:
            errors.append("%s@%s/%s: %s" % (chip, bus_name, where, e))
    raise OSError("no accelerometer found (" + "; ".join(errors[-3:]) + ")")
