# ST IIS3DWB wide-band vibration accelerometer driver (IIS3DWB data sheet DS13012), SPI only,
# bus injected.
#
#   regs = SPIRegs(spi, Pin(5), read=0x80, multi=0, addr_mask=0x7F, polarity=1, phase=1,
#                  baudrate=10000000)
#   acc = IIS3DWB(regs); acc.configure(range_g=8, watermark=128)
#
# SPI: mode 0 or 3 (the chip samples on the rising edge), up to 10 MHz; command = R/W (bit 7, 1 =
# read) | address; multi-byte transfers auto-increment when CTRL3_C.IF_INC is set (its reset
# value), and a burst starting at FIFO_DATA_OUT_TAG (0x78) wraps from 0x7E back to 0x78, so
# one transaction pops as many 7-byte FIFO words as it reads.
# Output: 16-bit two's complement, little-endian, 0.061 / 0.122 / 0.244 / 0.488 mg per LSB at
# +-2 / 4 / 8 / 16 g (CTRL1_XL FS_XL codes 00 / 10 / 11 / 01). One output data rate: 26.667 kHz
# (XL_EN = 101), flat to 6.3 kHz (-3 dB), the anti-alias filter on the chip.
# FIFO: 3 KB = 512 words of tag + 6 data bytes (19.2 ms at 26.667 kHz). TAG_SENSOR (tag bits
# 7:3) = 0x02 for an accelerometer word; TAG_CNT (2:1) counts BDR slots; TAG_PARITY (0).
# Accelerometer batching at BDR_XL = 1010 (FIFO_CTRL3), continuous mode (FIFO_CTRL4 = 110:
# when full, the oldest word is overwritten and FIFO_OVR_IA / OVER_RUN_LATCHED set), watermark
# WTM[8:0] in FIFO_CTRL1/FIFO_CTRL2 bit 0 routed to INT1 (INT1_CTRL.INT1_FIFO_TH).
# FIFO_STATUS1/2 (0x3A/0x3B): DIFF_FIFO[9:0] words, FIFO_WTM_IA 7, FIFO_OVR_IA 6, FIFO_FULL_IA 5,
# COUNTER_BDR_IA 4, OVER_RUN_LATCHED 3 (cleared when FIFO_STATUS2 is read).
# Temperature: OUT_TEMP 0x20/0x21, 256 LSB per degree, 0 at 25 C.
# Self-test: CTRL5_C.ST_XL = 01 (positive) / 10 (negative); output change limits below.
from micropython import const
from sensors.accel import check_id, fifo_average, round_up, sleep_ms as default_sleep_ms
from sensors.detag import detag_into
from sensors.errors import CONFIG_REJECTED, FIFO_CORRUPT, SensorError

_FIFO_CTRL1 = const(0x07)
_FIFO_CTRL2 = const(0x08)
_FIFO_CTRL3 = const(0x09)
_FIFO_CTRL4 = const(0x0A)
_INT1_CTRL = const(0x0D)
_WHO_AM_I = const(0x0F)
_CTRL1_XL = const(0x10)
_CTRL3_C = const(0x12)
_CTRL5_C = const(0x14)
_CTRL6_C = const(0x15)
_CTRL8_XL = const(0x17)
_OUT_TEMP_L = const(0x20)
_FIFO_STATUS1 = const(0x3A)
_FIFO_DATA_OUT_TAG = const(0x78)

_ID = const(0x7B)
_XL_ON = const(0xA0)  # XL_EN = 101: 26.667 kHz
_BDR_26K7 = const(0x0A)
_CONTINUOUS = const(0x06)
_BYPASS = const(0x00)
_BDU_INC = const(0x44)  # BDU | IF_INC
_INT1_FIFO_TH = const(0x08)
_OVR = const(0x48)  # FIFO_OVR_IA | OVER_RUN_LATCHED
_SW_RESET = const(0x01)

_CHUNK = const(128)  # words per SPI burst at most (896 bytes)
_CHUNK_BITS = const(7)  # (2**7 = _CHUNK: bursts of 1, 2, 4 .. 128 words)
_DEPTH = const(512)
RATE_MHZ = 26667000
RANGES = (2, 4, 8, 16)
_FS = (0, 2, 3, 1)  # FS_XL codes for RANGES
# self-test output change (g), ST_XL positive, any full scale
_ST_MIN = 0.05
_ST_MAX = 1.7


def _pow2_views(buf, step, bits):
    """Preallocated memoryviews buf[:step << b] for b = 0..bits: one per power of two, not one per
    length (a 128-word FIFO burst would otherwise keep 129 views, 2.6 KB on an ESP32); a read of k
    samples goes in bursts of 2**_burst_bits(k, bits)."""
    mv = memoryview(buf)
    return [mv[:step << b] for b in range(bits + 1)]


def _burst_bits(k, bits):
    """b of the largest burst 2**b <= k (k >= 1), at most 2**bits."""
    b = 0
    while b < bits and (2 << b) <= k:
        b += 1
    return b


class IIS3DWB:
    NAME = "iis3dwb"
    I2C_ADDRS = ()
    SPI = {"read": 0x80, "multi": 0, "addr_mask": 0x7F, "shift": 0, "polarity": 1, "phase": 1,
           "baudrate": 10000000}
    FIFO_DEPTH = _DEPTH
    MAX_RATE = 26667
    RATE_MHZ = RATE_MHZ
    INT_WATERMARK = True
    WIDEBAND = True

    def __init__(self, regs):
        self.regs = regs
        self.rate = 0
        self.range_g = 0
        self.scale = 0.061e-3
        self.watermark = 128
        self.overruns = 0
        self.bad_words = 0  # FIFO words with a tag that is not the accelerometer's
        self.level = 0
        self._lost = False
        self._xl = _XL_ON
        self._b2 = bytearray(2)
        self._buf = bytearray(7 * _CHUNK)
        self._views = _pow2_views(self._buf, 7, _CHUNK_BITS)
        check_id(regs, _WHO_AM_I, _ID, self.NAME)

    def configure(self, rate=26667, range_g=8, watermark=128):
        """rate: the chip has one (26.667 kHz); range_g rounded up to 2/4/8/16 g; watermark in
        words (1..511). FIFO emptied and restarted in continuous mode; INT1 = watermark."""
        r = self.regs
        rc = round_up(RANGES, range_g)
        wm = max(1, min(_DEPTH - 1, watermark))
        xl = _XL_ON | (_FS[rc] << 2)
        r.write_u8(_CTRL3_C, _BDU_INC)
        r.write_u8(_CTRL1_XL, 0)  # power-down while configuring
        r.write_u8(_FIFO_CTRL4, _BYPASS)  # empties the FIFO
        r.write_u8(_FIFO_CTRL1, wm & 0xFF)
        r.write_u8(_FIFO_CTRL2, wm >> 8)
        r.write_u8(_FIFO_CTRL3, _BDR_26K7)
        r.write_u8(_INT1_CTRL, _INT1_FIFO_TH)
        r.write_u8(_CTRL5_C, 0)
        r.write_u8(_CTRL6_C, 0)  # all three axes
        r.write_u8(_CTRL8_XL, 0)  # LPF1 only: the full 6.3 kHz band
        r.write_u8(_FIFO_CTRL4, _CONTINUOUS)
        r.write_u8(_CTRL1_XL, xl)
        if (r.read_u8(_CTRL1_XL) != xl or r.read_u8(_FIFO_CTRL1) != wm & 0xFF or r.read_u8(_FIFO_CTRL3) != _BDR_26K7
                or r.read_u8(_FIFO_CTRL4) != _CONTINUOUS or r.read_u8(_CTRL3_C) & _BDU_INC != _BDU_INC):
            raise SensorError(CONFIG_REJECTED, "IIS3DWB at %s did not accept its configuration" % r.describe())
        self._xl = xl
        self.rate = self.MAX_RATE
        self.range_g = RANGES[rc]
        self.scale = 0.061e-3 * (1 << rc)
        self.watermark = wm
        self.overruns = 0
        self._lost = False
        self.fifo_level()  # clears a stale latched overrun

    def restart(self):
        """Empty the FIFO and restart the sample clock (power-down and up): the stream's sample 0
        is due one period after this call."""
        r = self.regs
        r.write_u8(_FIFO_CTRL4, _BYPASS)
        r.write_u8(_CTRL1_XL, 0)
        r.write_u8(_FIFO_CTRL4, _CONTINUOUS)
        r.write_u8(_CTRL1_XL, self._xl)
        self.fifo_level()
        self._lost = False

    def fifo_level(self):
        b = self._b2
        self.regs.read_into(_FIFO_STATUS1, b)
        n = b[0] | ((b[1] & 3) << 8)
        if n > _DEPTH:
            raise SensorError(FIFO_CORRUPT, "IIS3DWB DIFF_FIFO %d > %d" % (n, _DEPTH))
        if b[1] & _OVR:
            self._lost = True  # (reading FIFO_STATUS2 clears OVER_RUN_LATCHED: keep it here)
        return n

    def overrun(self):
        lost = self._lost
        self._lost = False
        if lost:
            self.overruns += 1
        return lost

    def read_fifo(self, buf, n, offset=0):
        lvl = self.fifo_level()
        self.level = lvl
        if n > lvl:
            n = lvl
        got = 0
        while got < n:
            b = _burst_bits(n - got, _CHUNK_BITS)
            k = 1 << b
            self.regs.read_into(_FIFO_DATA_OUT_TAG, self._views[b])
            ok = detag_into(buf, 3 * (offset + got), self._buf, k)
            got += ok
            if ok < k:  # words that were not accelerometer words: lost samples
                self.bad_words += k - ok
                self._lost = True
                n -= k - ok
        return got

    def die_temp_c(self):
        self.regs.read_into(_OUT_TEMP_L, self._b2)
        v = self._b2[0] | (self._b2[1] << 8)
        if v & 0x8000:
            v -= 0x10000
        return 25 + v / 256

    def self_test(self, sleep_ms=None, n=64):
        """ST_XL positive: the output change must lie within the data sheet's limits (g) on
        every axis. Returns (ok, (dx, dy, dz)) in g."""
        rng, wm = self.range_g or 8, self.watermark
        wait = sleep_ms or default_sleep_ms
        self.configure(range_g=4, watermark=wm)
        wait(10)
        self.restart()
        base = fifo_average(self, n, wait, 1)
        self.regs.write_u8(_CTRL5_C, 0x01)
        wait(50)  # settling
        self.restart()
        st = fifo_average(self, n, wait, 1)
        self.regs.write_u8(_CTRL5_C, 0)
        d = tuple((st[i] - base[i]) * self.scale for i in range(3))
        ok = all(_ST_MIN <= d[i] <= _ST_MAX for i in range(3))
        self.configure(range_g=rng, watermark=wm)
        return ok, d
