# Named sensor errors: what the status topic shows and what a program can switch on.
#
#   raise SensorError(ABSENT, "lis3dh at i2c@0x18: no ACK")
#   str(e) -> "absent: lis3dh at i2c@0x18: no ACK";  e.name -> "absent"
#
# A SensorError is an OSError, so code that catches bus errors catches these too.
import errno

ABSENT = "absent"  # nothing answers (I2C NACK, SPI reads all 0x00/0xFF)
BUS_TIMEOUT = "bus_timeout"  # the bus is stuck (SDA/SCL held low, ETIMEDOUT)
WRONG_ID = "wrong_id"  # something answers, but not the chip expected
CONFIG_REJECTED = "config_rejected"  # configuration read back differently (bit error, wrong chip)
NO_DATA = "no_data"  # the chip stopped producing samples
FIFO_CORRUPT = "fifo_corrupt"  # impossible FIFO status or framing (bit error, stuck MISO)
SELF_TEST = "self_test_failed"
NOT_READY = "not_ready"  # no conversion finished yet
RTD_FAULT = "rtd_fault"  # MAX31865 fault status (names in the detail)
BUS_ERROR = "bus_error"  # any other OSError from the bus


class SensorError(OSError):
    def __init__(self, name, detail=""):
        super().__init__(("%s: %s" % (name, detail)) if detail else name)
        self.name = name


def from_bus(e, what):
    """A SensorError naming a bus-level OSError `e` raised while talking to `what`."""
    if isinstance(e, SensorError):
        return e
    code = e.errno if isinstance(e.errno, int) else (e.args[0] if e.args and isinstance(e.args[0], int) else None)
    if code == errno.ETIMEDOUT:
        return SensorError(BUS_TIMEOUT, "%s: bus timed out" % what)
    if code in (errno.ENODEV, errno.EIO):
        return SensorError(ABSENT, "%s: no ACK" % what)
    return SensorError(BUS_ERROR, "%s: %s" % (what, e))


def name_of(e):
    """The error's name (for counters): SensorError.name, else bus_error."""
    return getattr(e, "name", None) or BUS_ERROR


def check_id(regs, reg, expect, name):
    """Read a driver's ID register; SensorError (absent, wrong_id, a named bus error) unless it
    holds `expect`."""
    what = "%s at %s" % (name, regs.describe())
    try:
        v = regs.read_u8(reg)
    except OSError as e:
        raise from_bus(e, what)
    if v != expect:
        if v in (0x00, 0xFF):
            raise SensorError(ABSENT, "%s: ID register reads 0x%02x" % (what, v))
        raise SensorError(WRONG_ID, "%s: ID 0x%02x, expected 0x%02x" % (what, v, expect))
    return v
