# ADXL345 3-axis accelerometer driver (I2C or SPI), bus injected.
#
#   regs = I2CRegs(i2c, 0x53)              # or SPIRegs(spi, Pin(5), read=0x80, multi=0x40)
#   acc = ADXL345(regs)                     # checks DEVID, raises OSError if absent/wrong
#   acc.configure(rate=3200, range_g=16)    # full resolution, FIFO stream, watermark 16
#   n = acc.read_fifo(buf, 32)              # int16 x,y,z interleaved into array('h'), no alloc
#   g = n_counts * acc.scale                # 0.0039 g/LSB in full resolution
#
# Over I2C at 400 kHz a sample costs one 6-byte transaction (~0.3 ms): the data sheet advises
# ODR <= 800 Hz there; use SPI (5 MHz) for 1600 and 3200 Hz.
from micropython import const
from sensors.convert import le16_into
from sensors.errors import CONFIG_REJECTED, FIFO_CORRUPT, SensorError, check_id

_DEVID = const(0x00)
_OFSX = const(0x1E)
_BW_RATE = const(0x2C)
_POWER_CTL = const(0x2D)
_INT_ENABLE = const(0x2E)
_INT_MAP = const(0x2F)
_INT_SOURCE = const(0x30)
_DATA_FORMAT = const(0x31)
_DATAX0 = const(0x32)
_FIFO_CTL = const(0x38)
_FIFO_STATUS = const(0x39)

_ID = const(0xE5)
_MEASURE = const(0x08)
_FULL_RES = const(0x08)
_SELF_TEST = const(0x80)
_STREAM = const(0x80)
_BYPASS = const(0x00)
_WATERMARK = const(0x02)
_OVERRUN = const(0x01)

RATES = (3200, 1600, 800, 400, 200, 100, 50, 25)
RANGES = (2, 4, 8, 16)
_FIFO_DEPTH = const(32)
# self-test output change limits, LSB at 3.9 mg/LSB, Vs = 3.3 V (datasheet Table 1 x 1.77 / 1.47)
_ST_MIN = (89, -956, 110)
_ST_MAX = (956, -89, 1286)


class ADXL345:
    NAME = "adxl345"
    I2C_ADDRS = (0x53, 0x1D)
    SPI = {"read": 0x80, "multi": 0x40, "polarity": 1, "phase": 1, "baudrate": 5000000}
    FIFO_DEPTH = _FIFO_DEPTH
    MAX_RATE = 3200
    INT_WATERMARK = True

    def __init__(self, regs):
        self.regs = regs
        self._b6 = bytearray(6)
        self.rate = 0
        self.range_g = 0
        self.scale = 0.0039
        self.overruns = 0
        self.watermark = 16
        self.level = 0
        self._ovr = False
        check_id(regs, _DEVID, _ID, self.NAME)

    def configure(self, rate=3200, range_g=16, watermark=16):
        """Measure at `rate` Hz (rounded up to the nearest supported ODR) and +-range_g, full
        resolution (3.9 mg/LSB at every range), FIFO in stream mode with the watermark."""
        r = self.regs
        code = 0x0F
        chosen = 3200
        for i, hz in enumerate(RATES):
            if hz >= rate:
                code = 0x0F - i
                chosen = hz
        rc = 3
        for i, g in enumerate(RANGES):
            if g >= range_g:
                rc = i
                break
        r.write_u8(_POWER_CTL, 0)  # standby while configuring
        r.write_u8(_BW_RATE, code)
        r.write_u8(_DATA_FORMAT, _FULL_RES | rc)
        r.write_u8(_FIFO_CTL, _BYPASS)  # clears the FIFO
        self.watermark = max(1, min(31, watermark))
        r.write_u8(_FIFO_CTL, _STREAM | self.watermark)
        r.write_u8(_INT_MAP, 0)
        r.write_u8(_INT_ENABLE, _WATERMARK | _OVERRUN)
        r.write_u8(_POWER_CTL, _MEASURE)
        if r.read_u8(_BW_RATE) != code or r.read_u8(_DATA_FORMAT) & 0x0B != _FULL_RES | rc:
            raise SensorError(CONFIG_REJECTED, "ADXL345 at %s did not accept its configuration" % r.describe())
        self.rate = chosen
        self.range_g = RANGES[rc]
        self.scale = 0.0039
        self.overruns = 0

    def fifo_level(self):
        s = self.regs.read_u8(_FIFO_STATUS)
        if s & 0x40 or s & 0x3F > 33:  # bit 6 is always 0, at most 32 + the output stage
            raise SensorError(FIFO_CORRUPT, "ADXL345 FIFO_STATUS 0x%02x is impossible" % s)
        return s & 0x3F

    def overrun(self):
        """True (and counted) if the FIFO overwrote samples since the last check. Reading the
        FIFO clears the chip's Overrun bit, so read_fifo() latches it before reading."""
        ovr = self._ovr or self.regs.read_u8(_INT_SOURCE) & _OVERRUN
        self._ovr = False
        if ovr:
            self.overruns += 1
            return True
        return False

    def read_fifo(self, buf, n, offset=0):
        """Pop up to n samples from the FIFO into buf (array('h'), x,y,z interleaved) starting
        at sample `offset`. Returns how many were read. Allocates nothing."""
        level = self.fifo_level()
        self.level = level
        if n > level:
            n = level
        if n and self.regs.read_u8(_INT_SOURCE) & _OVERRUN:
            self._ovr = True  # the first FIFO read clears it: latch it now
        b = self._b6
        regs = self.regs  # (not regs.read_into: a bound method object would be allocated)
        o = offset * 3
        for i in range(n):
            regs.read_into(_DATAX0, b)  # one multi-byte read pops one FIFO entry
            le16_into(buf, o, b, 3, 0)
            o += 3
        return n

    def self_test(self, sleep_ms=None, n=16):
        """Datasheet self-test: output change with SELF_TEST set must lie within limits.
        Returns (ok, (dx, dy, dz)) in LSB at 3.9 mg/LSB. Leaves the chip reconfigured."""
        from sensors.accel import fifo_average, sleep_ms as default_sleep_ms  # (self-test only)
        rate, rng = self.rate or 100, self.range_g or 16
        r = self.regs
        r.write_u8(_POWER_CTL, 0)
        r.write_u8(_BW_RATE, 0x0C)  # 400 Hz
        r.write_u8(_DATA_FORMAT, _FULL_RES | 3)
        r.write_u8(_FIFO_CTL, _BYPASS)
        r.write_u8(_FIFO_CTL, _STREAM | 16)
        r.write_u8(_POWER_CTL, _MEASURE)
        wait = sleep_ms or default_sleep_ms
        wait(50)
        base = fifo_average(self, n, wait, 5)
        r.write_u8(_DATA_FORMAT, _SELF_TEST | _FULL_RES | 3)
        r.write_u8(_FIFO_CTL, _BYPASS)
        r.write_u8(_FIFO_CTL, _STREAM | 16)
        wait(50)
        st = fifo_average(self, n, wait, 5)
        d = (st[0] - base[0], st[1] - base[1], st[2] - base[2])
        ok = all(_ST_MIN[i] <= d[i] <= _ST_MAX[i] for i in range(3))
        self.configure(rate, rng, self.watermark)
        return ok, d


