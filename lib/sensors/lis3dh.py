# LIS3DH 3-axis accelerometer driver (ST DocID17530 Rev 2, AN3308), I2C or SPI, bus injected.
#
#   regs = I2CRegs(i2c, 0x18, inc=0x80)     # SUB bit 7 = auto-increment
#   regs = SPIRegs(spi, Pin(5), read=0x80, multi=0x40)   # mode 3
#   acc = LIS3DH(regs); acc.configure(rate=1344, range_g=16)
#   n = acc.read_fifo(buf, 32)
#
# Modes: high-resolution (12-bit) up to 1.344 kHz, low-power (8-bit) for 1.6 and 5.376 kHz.
# Output registers hold left-justified 16-bit two's complement, little-endian; the driver stores
# the datasheet's digits (shifted right by 4 in HR, by 8 in LP), so `scale` is the datasheet
# sensitivity: HR 1/2/4/12 mg/digit, LP 16/32/64/192 mg/digit at +-2/4/8/16 g.
# FIFO: 32 samples, stream mode; with the FIFO on, a multi-byte read past OUT_Z_H (0x2D) wraps
# back to OUT_X_L (0x28), so a whole burst is one bus transaction. FIFO_SRC: WTM 7, OVRN 6,
# EMPTY 5, FSS 4:0 (32 unread samples = OVRN with FSS 0).
from micropython import const
from sensors.accel import check_id, fifo_average, round_up, sleep_ms as default_sleep_ms, views
from sensors.convert import le16_into
from sensors.errors import CONFIG_REJECTED, FIFO_CORRUPT, SensorError

_WHO_AM_I = const(0x0F)
_CTRL_REG0 = const(0x1E)
_TEMP_CFG = const(0x1F)
_CTRL_REG1 = const(0x20)
_CTRL_REG2 = const(0x21)
_CTRL_REG3 = const(0x22)
_CTRL_REG4 = const(0x23)
_CTRL_REG5 = const(0x24)
_OUT_X_L = const(0x28)
_FIFO_CTRL = const(0x2E)
_FIFO_SRC = const(0x2F)

_ID = const(0x33)
_BDU = const(0x80)
_HR = const(0x08)
_LPEN = const(0x08)
_XYZ = const(0x07)
_FIFO_EN = const(0x40)
_I1_WTM = const(0x04)
_I1_OVR = const(0x02)
_STREAM = const(0x80)
_BYPASS = const(0x00)
_F_OVRN = const(0x40)
_F_EMPTY = const(0x20)

_CHUNK = const(32)
# (Hz, ODR code, low-power) ascending
RATES = (1, 10, 25, 50, 100, 200, 400, 1344, 1600, 5376)
_CODES = (1, 2, 3, 4, 5, 6, 7, 9, 8, 9)
RANGES = (2, 4, 8, 16)
_MG_HR = (1, 2, 4, 12)  # mg/digit, high-resolution 12-bit
_MG_NORMAL = (4, 8, 16, 48)  # normal 10-bit (self-test is specified here)
_MG_LP = (16, 32, 64, 192)  # low-power 8-bit
# self-test output change, normal mode +-2 g, digits (datasheet Table 4): 17 .. 360
_ST_MIN = const(17)
_ST_MAX = const(360)


class LIS3DH:
    NAME = "lis3dh"
    I2C_ADDRS = (0x18, 0x19)
    I2C_INC = 0x80
    SPI = {"read": 0x80, "multi": 0x40, "polarity": 1, "phase": 1, "baudrate": 5000000}
    FIFO_DEPTH = _CHUNK
    MAX_RATE = 5376
    INT_WATERMARK = True

    def __init__(self, regs):
        self.regs = regs
        self.rate = 0
        self.range_g = 0
        self.scale = 0.001
        self.watermark = 16
        self.overruns = 0
        self.level = 0
        self._ovr = False
        self.lowpower = False
        self._shift = 4
        self._buf = bytearray(6 * _CHUNK)
        self._views = views(self._buf, 6, _CHUNK)
        check_id(regs, _WHO_AM_I, _ID, self.NAME)

    def configure(self, rate=1344, range_g=16, watermark=16):
        r = self.regs
        i = round_up(RATES, rate)
        code = _CODES[i]
        lp = RATES[i] > 1344
        rc = round_up(RANGES, range_g)
        self.watermark = max(1, min(31, watermark))
        r.write_u8(_CTRL_REG1, _XYZ)  # power-down while configuring
        r.write_u8(_CTRL_REG0, 0x10)  # SDO pull-up connected (bits 6:0 must read 0010000)
        r.write_u8(_CTRL_REG2, 0)
        ctrl4 = _BDU | (rc << 4) | (0 if lp else _HR)
        r.write_u8(_CTRL_REG4, ctrl4)
        r.write_u8(_CTRL_REG5, _FIFO_EN)
        r.write_u8(_FIFO_CTRL, _BYPASS)  # empties the FIFO
        r.write_u8(_FIFO_CTRL, _STREAM | self.watermark)
        r.write_u8(_CTRL_REG3, _I1_WTM | _I1_OVR)
        ctrl1 = (code << 4) | (_LPEN if lp else 0) | _XYZ
        r.write_u8(_CTRL_REG1, ctrl1)
        if r.read_u8(_CTRL_REG1) != ctrl1 or r.read_u8(_CTRL_REG4) != ctrl4 \
                or r.read_u8(_FIFO_CTRL) != _STREAM | self.watermark:
            raise SensorError(CONFIG_REJECTED, "LIS3DH at %s did not accept its configuration" % r.describe())
        self.rate = RATES[i]
        self.range_g = RANGES[rc]
        self.lowpower = lp
        self._shift = 8 if lp else 4
        self.scale = (_MG_LP[rc] if lp else _MG_HR[rc]) / 1000
        self.overruns = 0

    def _src(self):
        s = self.regs.read_u8(_FIFO_SRC)
        if s & _F_EMPTY and s & (0x1F | _F_OVRN):
            raise SensorError(FIFO_CORRUPT, "LIS3DH FIFO_SRC 0x%02x is impossible (EMPTY with data)" % s)
        if s & _F_OVRN:
            self._ovr = True  # reading a sample clears OVRN_FIFO: latch it
        return s

    def fifo_level(self):
        s = self._src()
        n = s & 0x1F
        if n == 0 and s & _F_OVRN:
            n = 32
        return n

    def overrun(self):
        """True if the FIFO was full (OVRN_FIFO: 32 unread samples, the next one overwrites)."""
        self._src()
        ovr = self._ovr
        self._ovr = False
        if ovr:
            self.overruns += 1
            return True
        return False

    def read_fifo(self, buf, n, offset=0):
        level = self.fifo_level()
        self.level = level
        if n > level:
            n = level
        got = 0
        while got < n:
            k = n - got
            if k > _CHUNK:
                k = _CHUNK
            # one transaction: the address wraps 0x2D -> 0x28 and each wrap pops a sample
            self.regs.read_into(_OUT_X_L, self._views[k])
            le16_into(buf, 3 * (offset + got), self._buf, 3 * k, self._shift)
            got += k
        return n

    def self_test(self, sleep_ms=None, n=5):
        """AN3308 self-test: normal mode, +-2 g, 50 Hz; average n samples without and with
        self-test 0; |change| must lie in 17..360 digits (4 mg/digit) on every axis."""
        rate, rng, wm = self.rate or 100, self.range_g or 16, self.watermark
        r = self.regs
        wait = sleep_ms or default_sleep_ms
        r.write_u8(_CTRL_REG1, _XYZ)
        r.write_u8(_CTRL_REG4, _BDU)  # normal mode (HR off), +-2 g, self-test off
        r.write_u8(_CTRL_REG5, _FIFO_EN)
        r.write_u8(_FIFO_CTRL, _BYPASS)
        r.write_u8(_FIFO_CTRL, _STREAM)
        r.write_u8(_CTRL_REG1, (4 << 4) | _XYZ)  # 50 Hz
        self._shift = 6
        wait(90)
        base = fifo_average(self, n, wait, 20)
        r.write_u8(_CTRL_REG4, _BDU | 0x02)  # self-test 0
        r.write_u8(_FIFO_CTRL, _BYPASS)
        r.write_u8(_FIFO_CTRL, _STREAM)
        wait(90)
        st = fifo_average(self, n, wait, 20)
        r.write_u8(_CTRL_REG4, _BDU)
        d = (st[0] - base[0], st[1] - base[1], st[2] - base[2])
        ok = all(_ST_MIN <= abs(v) <= _ST_MAX for v in d)
        self.configure(rate, rng, wm)
        return ok, d

