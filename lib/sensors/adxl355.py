# ADXL355 low-noise 3-axis accelerometer driver (Analog Devices ADXL354/ADXL355 data sheet
# Rev. D), SPI or I2C, bus injected.
#
#   regs = SPIRegs(spi, Pin(5), read=0x01, multi=0, addr_mask=0x7F, shift=1, polarity=0, phase=0)
#   regs = I2CRegs(i2c, 0x1D)               # ASEL low (0x53 with ASEL high)
#   acc = ADXL355(regs); acc.configure(rate=4000, range_g=8)
#
# SPI: mode 0, command byte = (register << 1) | R/W (1 = read); multi-byte transfers always
# auto-increment, except at FIFO_DATA (0x11), which pops one FIFO word per 3 bytes read.
# Data: 20-bit two's complement, left-justified in 3 bytes (DATA3 = bits 19:12, DATA2 = 11:4,
# DATA1[7:4] = 3:0). Scale 256000 / 128000 / 64000 LSB/g at +-2.048 / 4.096 / 8.192 g.
# THE COMMON INT16 FORMAT: read_fifo() stores bits 19:4 (the 20-bit value >> 4, exactly the
# DATA3:DATA2 bytes), so `scale` = 16 / (LSB per g), e.g. 62.5 ug per count at +-2.048 g. The
# four dropped bits (3.9 to 58 ug) lie below the chip's noise over any useful bandwidth
# (25 ug/sqrt(Hz) x sqrt(1 kHz) = 0.8 mg RMS).
# FIFO: 96 words (32 x, y, z sets); each word carries an X-axis marker (bit 0) and an empty
# flag (bit 1), which the driver checks on every set (a bit error or lost word shows up as
# a framing error, counted as an overrun, and the FIFO is re-aligned).
# ODR: 4000 Hz / 2**n; this driver offers 125 .. 4000 Hz (integer rates).
# Die temperature: 12-bit, 1885 LSB at 25 C, -9.05 LSB/C.
from micropython import const
from sensors.accel import check_id, fifo_average, round_up, sleep_ms as default_sleep_ms, views
from sensors.convert import be24_axes_into
from sensors.errors import CONFIG_REJECTED, FIFO_CORRUPT, SensorError

_DEVID_AD = const(0x00)
_DEVID_MST = const(0x01)
_PARTID = const(0x02)
_STATUS = const(0x04)
_FIFO_ENTRIES = const(0x05)
_TEMP2 = const(0x06)
_XDATA3 = const(0x08)
_FIFO_DATA = const(0x11)
_FILTER = const(0x28)
_FIFO_SAMPLES = const(0x29)
_INT_MAP = const(0x2A)
_RANGE = const(0x2C)
_POWER_CTL = const(0x2D)
_SELF_TEST = const(0x2E)
_RESET = const(0x2F)

_ID_AD = const(0xAD)
_ID_PART = const(0xED)
_STANDBY = const(0x01)
_FIFO_OVR = const(0x04)
_FULL_EN1 = const(0x02)
_INT_POL_HIGH = const(0x40)
_I2C_HS = const(0x80)

_CHUNK = const(32)
RATES = (125, 250, 500, 1000, 2000, 4000)
RANGES = (2, 4, 8)
_LSB_PER_G = (256000, 128000, 64000)
# self-test output change (g), ST1 and ST2 set: X, Y 0.1 .. 0.6 g, Z 0.5 .. 3.0 g
_ST_MIN = (0.1, 0.1, 0.5)
_ST_MAX = (0.6, 0.6, 3.0)


class ADXL355:
    NAME = "adxl355"
    I2C_ADDRS = (0x1D, 0x53)
    SPI = {"read": 0x01, "multi": 0, "addr_mask": 0x7F, "shift": 1, "polarity": 0, "phase": 0,
           "baudrate": 8000000}
    FIFO_DEPTH = _CHUNK
    MAX_RATE = 4000
    INT_WATERMARK = True

    def __init__(self, regs):
        self.regs = regs
        self.rate = 0
        self.range_g = 0
        self.scale = 16 / 256000
        self.watermark = 16
        self.overruns = 0
        self.framing_errors = 0
        self.level = 0
        self._lost = False
        self._b2 = bytearray(2)
        self._b3 = bytearray(3)
        self._buf = bytearray(9 * _CHUNK)
        self._views = views(self._buf, 9, _CHUNK)
        check_id(regs, _DEVID_AD, _ID_AD, self.NAME)
        check_id(regs, _PARTID, _ID_PART, self.NAME)

    def configure(self, rate=4000, range_g=8, watermark=16):
        r = self.regs
        i = round_up(RATES, rate)
        code = 5 - i
        rc = round_up(RANGES, range_g)
        self.watermark = max(1, min(31, watermark))
        rng = _I2C_HS | _INT_POL_HIGH | (rc + 1)
        r.write_u8(_POWER_CTL, _STANDBY)
        r.write_u8(_FILTER, code)  # high-pass off, ODR/LPF code
        r.write_u8(_RANGE, rng)
        r.write_u8(_FIFO_SAMPLES, 3 * self.watermark)
        r.write_u8(_INT_MAP, _FULL_EN1)
        r.write_u8(_SELF_TEST, 0)
        r.write_u8(_POWER_CTL, 0)  # measure, temperature on
        if r.read_u8(_FILTER) != code or r.read_u8(_RANGE) != rng or r.read_u8(_FIFO_SAMPLES) != 3 * self.watermark:
            raise SensorError(CONFIG_REJECTED, "ADXL355 at %s did not accept its configuration" % r.describe())
        self.rate = RATES[i]
        self.range_g = RANGES[rc]
        self.scale = 16 / _LSB_PER_G[rc]
        self.overruns = 0
        r.read_u8(_STATUS)  # clears a stale overrun flag

    def _entries(self):
        e = self.regs.read_u8(_FIFO_ENTRIES)
        if e > 96:
            raise SensorError(FIFO_CORRUPT, "ADXL355 FIFO_ENTRIES %d > 96" % e)
        return e

    def fifo_level(self):
        return self._entries() // 3

    def overrun(self):
        lost = self._lost
        self._lost = False
        if self.regs.read_u8(_STATUS) & _FIFO_OVR or lost:
            self.overruns += 1
            return True
        return False

    def _realign(self):
        """Drop single words until the FIFO again starts with an X word (entries % 3 == 0)."""
        for _ in range(3):
            e = self._entries()
            if e % 3 == 0:
                return
            self.regs.read_into(_FIFO_DATA, self._b3)

    def read_fifo(self, buf, n, offset=0):
        e = self._entries()
        if e % 3:
            self._realign()
            e = self._entries()
        level = e // 3
        self.level = level
        if n > level:
            n = level
        got = 0
        while got < n:
            k = n - got
            if k > _CHUNK:
                k = _CHUNK
            self.regs.read_into(_FIFO_DATA, self._views[k])
            ok = be24_axes_into(buf, 3 * (offset + got), self._buf, k)
            got += ok
            if ok < k:  # framing broken: the rest of this burst is unusable
                self.framing_errors += 1
                self._lost = True
                self._realign()
                break
        return got

    def die_temp_c(self):
        self.regs.read_into(_TEMP2, self._b2)
        raw = ((self._b2[0] & 0x0F) << 8) | self._b2[1]
        return 25 + (raw - 1885) / -9.05

    def self_test(self, sleep_ms=None, n=16):
        """ST1 then ST2: the output change must lie within the data sheet's limits (g).
        Returns (ok, (dx, dy, dz)) in g."""
        rate, rng, wm = self.rate or 1000, self.range_g or 8, self.watermark
        wait = sleep_ms or default_sleep_ms
        self.configure(1000, 8, 16)
        wait(100)
        self._drain()
        base = fifo_average(self, n, wait, 5)
        self.regs.write_u8(_SELF_TEST, 0x01)  # ST1: self-test mode
        self.regs.write_u8(_SELF_TEST, 0x03)  # ST2: force on
        wait(100)
        self._drain()
        st = fifo_average(self, n, wait, 5)
        self.regs.write_u8(_SELF_TEST, 0)
        d = tuple((st[i] - base[i]) * self.scale for i in range(3))
        ok = all(_ST_MIN[i] <= d[i] <= _ST_MAX[i] for i in range(3))
        self.configure(rate, rng, wm)
        return ok, d

    def _drain(self):
        import array
        b = array.array("h", bytes(6 * _CHUNK))
        while self.read_fifo(b, _CHUNK):
            pass

