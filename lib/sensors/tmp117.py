# TMP117 digital temperature sensor driver (TI SNOSD82, rev. C), I2C, bus injected.
#
#   t = TMP117(I2CRegs(i2c, 0x48)); t.configure(averages=8, cycle_ms=1000)
#   t.read_c() -> 25.0 (0x0C80 x 0.0078125 C);  t.health -> "ok" / an error name
#
# 16-bit registers, big-endian, behind a pointer: Temp_Result 0x00 (two's complement,
# 7.8125 m C/LSB; 0x8000 = -256 C until the first conversion), Configuration 0x01 (HIGH_Alert
# 15, LOW_Alert 14, Data_Ready 13, EEPROM_Busy 12, MOD 11:10, CONV 9:7, AVG 6:5, T/nA 4, POL 3,
# DR/Alert 2, Soft_Reset 1; reset 0x0220), THigh_Limit 0x02 (reset 0x6000 = 192 C), TLow_Limit
# 0x03 (reset 0x8000 = -256 C), Temp_Offset 0x07, Device_ID 0x0F (0x0117; bits 15:12 = revision).
# Reading the configuration clears Data_Ready and (alert mode) the alert flags.
from micropython import const
from sensors.errors import ABSENT, CONFIG_REJECTED, NOT_READY, WRONG_ID, SensorError, from_bus, name_of

_TEMP = const(0x00)
_CONFIG = const(0x01)
_THIGH = const(0x02)
_TLOW = const(0x03)
_OFFSET = const(0x07)
_DEVICE_ID = const(0x0F)

_ID = const(0x0117)
LSB_C = 0.0078125
_NOT_CONVERTED = const(0x8000)
AVERAGES = (1, 8, 32, 64)
# conversion cycle (ms) per CONV code, and the shortest cycle each AVG allows (SNOSD82 Table 7-7)
CYCLES_MS = (15.5, 125, 250, 500, 1000, 4000, 8000, 16000)
_AVG_MIN_MS = (0, 125, 500, 1000)


def to_c(raw):
    """Temp_Result (16-bit two's complement) -> degrees C."""
    if raw & 0x8000:
        raw -= 0x10000
    return raw * LSB_C


def from_c(c):
    v = int(round(c / LSB_C))
    v = max(-32768, min(32767, v))
    return v & 0xFFFF


class TMP117:
    NAME = "tmp117"
    KIND = "temp"
    FIRST_MS = 130  # the first result after configure(): 8 averages x 15.5 ms
    I2C_ADDRS = (0x48, 0x49, 0x4A, 0x4B)

    def __init__(self, regs):
        self.regs = regs
        self._b2 = bytearray(2)
        self.health = "unknown"
        self.alert = None  # "high" / "low" after a conversion beyond the limits
        self.cycle_ms = 1000
        what = "%s at %s" % (self.NAME, regs.describe())
        try:
            did = self._r16(_DEVICE_ID)
        except OSError as e:
            raise from_bus(e, what)
        if did in (0x0000, 0xFFFF):
            raise SensorError(ABSENT, "%s: ID register reads 0x%04x" % (what, did))
        if did & 0x0FFF != _ID:
            raise SensorError(WRONG_ID, "%s: Device_ID 0x%04x, expected 0x0117" % (what, did))
        self.revision = did >> 12

    def _r16(self, reg):
        self.regs.read_into(reg, self._b2)
        return (self._b2[0] << 8) | self._b2[1]

    def _w16(self, reg, v):
        self._b2[0] = (v >> 8) & 0xFF
        self._b2[1] = v & 0xFF
        self.regs.write(reg, self._b2)

    def configure(self, averages=8, cycle_ms=1000, low_c=None, high_c=None):
        """Continuous conversion, `averages` (1/8/32/64, rounded up) per result, one result
        every `cycle_ms` (rounded up to the table; never shorter than the averaging needs).
        Alert limits in C (alert mode: flags latch until the configuration is read)."""
        avg = 3
        for i in range(4):
            if AVERAGES[i] >= averages:
                avg = i
                break
        conv = 7
        for i in range(8):
            if CYCLES_MS[i] >= cycle_ms:
                conv = i
                break
        cfg = (conv << 7) | (avg << 5)  # MOD 00 continuous, alert mode, active low, ALERT = alert
        self._w16(_CONFIG, cfg)
        if high_c is not None:
            self._w16(_THIGH, from_c(high_c))
        if low_c is not None:
            self._w16(_TLOW, from_c(low_c))
        if self._r16(_CONFIG) & 0x0FFE != cfg:
            raise SensorError(CONFIG_REJECTED, "TMP117 at %s did not accept its configuration" % self.regs.describe())
        self.cycle_ms = max(CYCLES_MS[conv], _AVG_MIN_MS[avg])

    def limits_c(self):
        return to_c(self._r16(_TLOW)), to_c(self._r16(_THIGH))

    def read_c(self):
        """The latest result in C. SensorError not_ready before the first conversion; bus
        errors come back named (absent, bus_timeout). Updates .health and .alert."""
        try:
            cfg = self._r16(_CONFIG)
            raw = self._r16(_TEMP)
        except OSError as e:
            err = from_bus(e, "%s at %s" % (self.NAME, self.regs.describe()))
            self.health = name_of(err)
            raise err
        self.alert = "high" if cfg & 0x8000 else ("low" if cfg & 0x4000 else None)
        if raw == _NOT_CONVERTED:
            self.health = NOT_READY
            raise SensorError(NOT_READY, "TMP117: no conversion finished yet")
        self.health = "ok"
        return to_c(raw)
