# MPU-6050 accelerometer driver (InvenSense PS-MPU-6000A-00 rev 3.4, RM-MPU-6000A-00 rev 4.2),
# I2C only, bus injected. The gyro is put in standby: this node measures vibration.
#
#   acc = MPU6050(I2CRegs(i2c, 0x68)); acc.configure(rate=1000, range_g=16)
#
# Sample rate = 1 kHz / (1 + SMPLRT_DIV) with the digital low-pass filter on (DLPF_CFG 1..6);
# the driver picks the widest DLPF bandwidth below half the rate (184 Hz at 1 kHz). Accel data
# is 16-bit big-endian two's complement, 16384/8192/4096/2048 LSB/g at +-2/4/8/16 g.
# FIFO: 1024 bytes; only the accelerometer is enabled, so a sample is 6 bytes and 170 fit.
# FIFO_COUNT (0x72/0x73) counts bytes. On overflow the chip overwrites the oldest bytes, which
# breaks the 6-byte framing: overrun() therefore resets the FIFO (the lost samples are counted).
# No FIFO watermark interrupt exists: the sampler polls on a schedule derived from the rate.
# Die temperature: TEMP_OUT / 340 + 36.53 C.
from micropython import const
from sensors.accel import check_id, round_up, sleep_ms as default_sleep_ms, views
from sensors.convert import be16_into
from sensors.errors import CONFIG_REJECTED, FIFO_CORRUPT, SensorError

_SELF_TEST_X = const(0x0D)
_SELF_TEST_A = const(0x10)
_SMPLRT_DIV = const(0x19)
_CONFIG = const(0x1A)
_GYRO_CONFIG = const(0x1B)
_ACCEL_CONFIG = const(0x1C)
_FIFO_EN = const(0x23)
_INT_PIN_CFG = const(0x37)
_INT_ENABLE = const(0x38)
_INT_STATUS = const(0x3A)
_ACCEL_XOUT_H = const(0x3B)
_TEMP_OUT_H = const(0x41)
_USER_CTRL = const(0x6A)
_PWR_MGMT_1 = const(0x6B)
_PWR_MGMT_2 = const(0x6C)
_FIFO_COUNTH = const(0x72)
_FIFO_R_W = const(0x74)
_WHO_AM_I = const(0x75)

_ID = const(0x68)
_ACCEL_FIFO = const(0x08)
_U_FIFO_EN = const(0x40)
_U_FIFO_RESET = const(0x04)
_FIFO_OFLOW = const(0x10)
_CLK_PLL_X = const(0x01)
_GYRO_STANDBY = const(0x07)

_CHUNK = const(32)
RATES = (4, 5, 8, 10, 20, 25, 40, 50, 100, 125, 200, 250, 500, 1000)
RANGES = (2, 4, 8, 16)
_DLPF_BW = (184, 94, 44, 21, 10, 5)  # accel bandwidth (Hz) of DLPF_CFG 1..6
_ST_TOL = 0.14  # self-test response within +-14 % of the factory trim


class MPU6050:
    NAME = "mpu6050"
    I2C_ADDRS = (0x68, 0x69)
    FIFO_DEPTH = 170
    MAX_RATE = 1000
    INT_WATERMARK = False

    def __init__(self, regs):
        self.regs = regs
        self.rate = 0
        self.range_g = 0
        self.scale = 1 / 2048
        self.watermark = 16
        self.overruns = 0
        self.level = 0
        self._ovr = False
        self._b2 = bytearray(2)
        self._buf = bytearray(6 * _CHUNK)
        self._views = views(self._buf, 6, _CHUNK)
        check_id(regs, _WHO_AM_I, _ID, self.NAME)

    def configure(self, rate=1000, range_g=16, watermark=16):
        r = self.regs
        i = round_up(RATES, rate)
        hz = RATES[i]
        dlpf = 6
        for j in range(6):
            if _DLPF_BW[j] * 2 <= hz:
                dlpf = j + 1
                break
        rc = round_up(RANGES, range_g)
        self.watermark = max(1, min(self.FIFO_DEPTH - 1, watermark))
        r.write_u8(_PWR_MGMT_1, _CLK_PLL_X)  # wake (reset value has SLEEP set)
        r.write_u8(_PWR_MGMT_2, _GYRO_STANDBY)
        r.write_u8(_CONFIG, dlpf)
        r.write_u8(_SMPLRT_DIV, 1000 // hz - 1)
        r.write_u8(_ACCEL_CONFIG, rc << 3)
        r.write_u8(_USER_CTRL, 0)
        r.write_u8(_FIFO_EN, _ACCEL_FIFO)
        r.write_u8(_USER_CTRL, _U_FIFO_RESET)  # empty it, then start collecting
        r.write_u8(_USER_CTRL, _U_FIFO_EN)
        r.write_u8(_INT_ENABLE, _FIFO_OFLOW)
        if r.read_u8(_SMPLRT_DIV) != 1000 // hz - 1 or r.read_u8(_ACCEL_CONFIG) != rc << 3 \
                or r.read_u8(_FIFO_EN) != _ACCEL_FIFO or r.read_u8(_CONFIG) != dlpf:
            raise SensorError(CONFIG_REJECTED, "MPU-6050 at %s did not accept its configuration" % r.describe())
        r.read_u8(_INT_STATUS)  # clears stale flags
        self._ovr = False
        self.rate = hz
        self.range_g = RANGES[rc]
        self.scale = 1 / (16384 >> rc)
        self.overruns = 0

    def fifo_level(self):
        self.regs.read_into(_FIFO_COUNTH, self._b2)
        c = (self._b2[0] << 8) | self._b2[1]
        if c > 1024:
            raise SensorError(FIFO_CORRUPT, "MPU-6050 FIFO_COUNT %d > 1024" % c)
        return c // 6

    def _reset_fifo(self):
        self.regs.write_u8(_USER_CTRL, _U_FIFO_EN | _U_FIFO_RESET)

    def _overflowed(self):
        if self.regs.read_u8(_INT_STATUS) & _FIFO_OFLOW:
            self._reset_fifo()  # its 6-byte framing is lost: start clean
            self._ovr = True
        return self._ovr

    def overrun(self):
        """True if the FIFO overflowed (it was then reset; the samples in it are gone)."""
        ovr = self._ovr or self._overflowed()
        self._ovr = False
        if ovr:
            self.overruns += 1
        return ovr

    def read_fifo(self, buf, n, offset=0):
        if self.regs.read_u8(_INT_STATUS) & _FIFO_OFLOW:
            # check before reading: after an overflow the bytes are misframed. Reset, latch
            # for overrun(), and report nothing read this time.
            self._reset_fifo()
            self._ovr = True
            self.level = 0
            return 0
        level = self.fifo_level()
        self.level = level
        if n > level:
            n = level
        got = 0
        while got < n:
            k = n - got
            if k > _CHUNK:
                k = _CHUNK
            self.regs.read_into(_FIFO_R_W, self._views[k])  # FIFO_R_W does not auto-increment
            be16_into(buf, 3 * (offset + got), self._buf, 3 * k, 0)
            got += k
        return n

    def die_temp_c(self):
        self.regs.read_into(_TEMP_OUT_H, self._b2)
        v = (self._b2[0] << 8) | self._b2[1]
        if v & 0x8000:
            v -= 0x10000
        return v / 340 + 36.53

    def factory_trim(self):
        """Accelerometer self-test factory trim FT (LSB at +-8 g) per axis (register map 4.1)."""
        t = bytearray(4)
        self.regs.read_into(_SELF_TEST_X, t)
        a = t[3]
        codes = (((t[0] >> 3) & 0x1C) | ((a >> 4) & 3), ((t[1] >> 3) & 0x1C) | ((a >> 2) & 3),
                 ((t[2] >> 3) & 0x1C) | (a & 3))
        return tuple(4096 * 0.34 * (0.92 / 0.34) ** ((c - 1) / 30) if c else 0.0 for c in codes)

    def self_test(self, sleep_ms=None, n=16):
        """Self-test response (output with XA/YA/ZA_ST minus without, at +-8 g) must be within
        14 % of the factory trim. Returns (ok, (dx, dy, dz)) in LSB at +-8 g."""
        rate, rng, wm = self.rate or 1000, self.range_g or 16, self.watermark
        r = self.regs
        wait = sleep_ms or default_sleep_ms
        r.write_u8(_PWR_MGMT_1, _CLK_PLL_X)
        r.write_u8(_ACCEL_CONFIG, 2 << 3)
        wait(20)
        base = self._average(n, wait)
        r.write_u8(_ACCEL_CONFIG, 0xE0 | (2 << 3))
        wait(20)
        st = self._average(n, wait)
        r.write_u8(_ACCEL_CONFIG, 2 << 3)
        d = (st[0] - base[0], st[1] - base[1], st[2] - base[2])
        ft = self.factory_trim()
        ok = all(ft[i] and abs(d[i] - ft[i]) <= _ST_TOL * ft[i] for i in range(3))
        self.configure(rate, rng, wm)
        return ok, d

    def _average(self, n, wait):
        b = bytearray(6)
        s = [0, 0, 0]
        for _ in range(n):
            wait(2)
            self.regs.read_into(_ACCEL_XOUT_H, b)
            for a in range(3):
                v = (b[2 * a] << 8) | b[2 * a + 1]
                s[a] += v - 0x10000 if v & 0x8000 else v
        return s[0] // n, s[1] // n, s[2] // n

