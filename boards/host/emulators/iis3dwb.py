# ST IIS3DWB register-level emulator (IIS3DWB data sheet DS13012, wide-band vibration sensor).
#
# Registers: PIN_CTRL 0x02, FIFO_CTRL1 0x07 (WTM[7:0]), FIFO_CTRL2 0x08 (STOP_ON_WTM 7, WTM8 0),
# FIFO_CTRL3 0x09 (BDR_XL 3:0: 0000 not batched, 1010 = 26667 Hz), FIFO_CTRL4 0x0A (DEC_TS 7:6,
# ODR_T 5:4, FIFO_MODE 2:0: 000 bypass (empties the FIFO), 001 FIFO (stops when full), 110
# continuous (overwrites the oldest)), COUNTER_BDR_REG1/2 0x0B/0x0C, INT1_CTRL 0x0D (FIFO_FULL 5,
# FIFO_OVR 4, FIFO_TH 3, DRDY_XL 0), INT2_CTRL 0x0E, WHO_AM_I 0x0F = 0x7B, CTRL1_XL 0x10 (XL_EN
# 7:5 = 101 on at 26.667 kHz, FS_XL 3:2 = 00/10/11/01 for +-2/4/8/16 g, LPF2_XL_EN 1), CTRL3_C
# 0x12 (BOOT 7, BDU 6, H_LACTIVE 5, PP_OD 4, SIM 3, IF_INC 2 (reset 1), SW_RESET 0), CTRL4_C
# 0x13, CTRL5_C 0x14 (ROUNDING 6:5, ST_XL 1:0: 01 positive, 10 negative self-test), CTRL6_C
# 0x15 (USR_OFF_W 3, XL_AXIS_SEL 1:0: 00 three axes, 01/10/11 X/Y/Z only), CTRL7_C 0x16,
# CTRL8_XL 0x17 (HPCF_XL 7:5, HP_REF_MODE 4, FASTSETTL 3, FDS 2 = high-pass path), CTRL10_C 0x19,
# STATUS_REG 0x1E (TDA 2, XLDA 0), OUT_TEMP 0x20/0x21 (256 LSB/C, 0 at 25 C), OUTX_L_A..OUTZ_H_A
# 0x28-0x2D, FIFO_STATUS1 0x3A (DIFF_FIFO[7:0]), FIFO_STATUS2 0x3B (FIFO_WTM_IA 7, FIFO_OVR_IA 6,
# FIFO_FULL_IA 5, OVER_RUN_LATCHED 3 (cleared by reading), DIFF_FIFO[9:8] 1:0), X/Y/Z_OFS_USR
# 0x73-0x75, FIFO_DATA_OUT_TAG 0x78 and FIFO_DATA_OUT_X_L..Z_H 0x79-0x7E. Unused and reserved
# registers read 0 and ignore writes; unused bits of writable ones stay 0.
# FIFO: 3 KB, 512 words of 7 bytes (tag, X_L, X_H, Y_L, Y_H, Z_L, Z_H); tag = TAG_SENSOR 0x02 << 3
# | TAG_CNT (sample index mod 4) << 1 | parity (of tag bits 7:1). A word pops when its Z_H byte
# (0x7E) is read; with IF_INC a burst wraps from 0x7E to 0x78. Reading an empty FIFO gives 0s.
# Filter chain: the simulator's signal stands for what LPF1 passes (DC-6.3 kHz); LPF2 (LPF2_XL_EN)
# and the high-pass path (FDS) are modelled as first-order sections at ODR / (4, 10, 20, 45,
# 100, 200, 400, 800) by HPCF_XL.
# SPI: mode 0 or 3, command = R (bit 7) | address. No I2C (the IIS3DWB is SPI-only).
import array

import micropython

from emulators.base import ChipEmu, clamp

_DEPTH = 512
_W = 7
RATE_MHZ = 26667000
SELF_TEST_UG = 500000  # output change with ST_XL (data sheet limits 50 .. 1700 mg)
_RS = (0, 3, 1, 2)  # FS_XL code -> log2(LSB / 0.061 mg)
_DIV = (4, 10, 20, 45, 100, 200, 400, 800)
# writable registers and their used bits
_WMASK = {0x02: 0x40, 0x07: 0xFF, 0x08: 0x81, 0x09: 0x0F, 0x0A: 0xF7, 0x0B: 0xC7, 0x0C: 0xFF, 0x0D: 0x7D,
          0x0E: 0x7D, 0x10: 0xEE, 0x12: 0xFD, 0x13: 0x2D, 0x14: 0x63, 0x15: 0x0B, 0x16: 0x02, 0x17: 0xFC,
          0x18: 0x02, 0x19: 0x20, 0x56: 0x10, 0x5B: 0x7F, 0x5C: 0x7F, 0x5E: 0xA0, 0x5F: 0xA1, 0x73: 0xFF,
          0x74: 0xFF, 0x75: 0xFF}


@micropython.viper
def _put(ring, off: int, tag: int, x: int, y: int, z: int):
    r = ptr8(ring)
    r[off] = tag
    r[off + 1] = x & 0xFF
    r[off + 2] = (x >> 8) & 0xFF
    r[off + 3] = y & 0xFF
    r[off + 4] = (y >> 8) & 0xFF
    r[off + 5] = z & 0xFF
    r[off + 6] = (z >> 8) & 0xFF


@micropython.viper
def _copy(dst, doff: int, ring, soff: int, nbytes: int, rlen: int):
    d = ptr8(dst)
    r = ptr8(ring)
    j = soff
    for i in range(nbytes):
        d[doff + i] = r[j]
        j += 1
        if j >= rlen:
            j = 0


class IIS3DWBEmu(ChipEmu):
    I2C_ADDRS = ()

    def __init__(self, clock, sim, int1=None, int2=None):
        ChipEmu.__init__(self, clock, sim)
        self.int1 = int1
        self.int2 = int2
        self.regs = bytearray(0x80)
        self.ring = bytearray(_DEPTH * _W)
        self.out = array.array("i", [0, 0, 0])
        self._t = array.array("i", [0, 0, 0])
        self._lp = array.array("i", [0, 0, 0])  # filter state, micro-g
        self.reset()

    def reset(self):
        r = self.regs
        for i in range(0x80):
            r[i] = 0
        r[0x0F] = 0x7B
        r[0x12] = 0x04  # IF_INC
        self.head = 0
        self.count = 0
        self.ovr_ia = False
        self.ovr_latched = False
        self.produced = 0
        self.overruns = 0  # samples overwritten (lost)
        self._rate = 0
        self._tword = 0
        self._a = 0  # filter coefficient, Q15 (0: filters off)
        self._hp = False
        self.start_stream()

    def rate_mhz(self):
        return RATE_MHZ if (self.regs[0x10] >> 5) == 5 else 0

    def _mode(self):
        return self.regs[0x0A] & 7

    def _batching(self):
        return (self.regs[0x09] & 0x0F) == 0x0A and self._mode() in (1, 6)

    def wtm(self):
        return self.regs[0x07] | ((self.regs[0x08] & 1) << 8)

    def _depth(self):
        if self.regs[0x08] & 0x80:  # STOP_ON_WTM: the FIFO depth is the watermark
            w = self.wtm()
            return w if w else 1
        return _DEPTH

    def sync(self):
        rate = self.rate_mhz()
        if rate != self._rate:
            self._rate = rate
            self.start_stream()
        if rate == 0:
            return
        self.catch_up(rate, _DEPTH + 1)
        self._irq_update()

    def lost_samples(self, n):
        self.produced += n
        if self._batching() and self._mode() == 6:
            self.overruns += n
            self.ovr_ia = True
            self.ovr_latched = True

    def produce(self, k):
        t = self._t
        self.sim.sample(k, RATE_MHZ, t)
        self.produced += 1
        r = self.regs
        st = r[0x14] & 3
        sel = r[0x15] & 3
        rs = _RS[(r[0x10] >> 2) & 3]
        d = 61 << rs  # micro-g per LSB (0.061 mg at +-2 g)
        a = self._a
        out = self.out
        for ax in range(3):
            v = t[ax]
            if st == 1:
                v += SELF_TEST_UG
            elif st == 2:
                v -= SELF_TEST_UG
            if a:
                lp = self._lp[ax]
                lp += ((v - lp) * a) >> 15
                self._lp[ax] = lp
                v = v - lp if self._hp else lp
            if sel and ax != sel - 1:
                v = 0
            out[ax] = clamp((v + (d >> 1)) // d, -32768, 32767)
        if not self._batching():
            return
        if self.count >= self._depth():
            if self._mode() != 6:
                return  # FIFO mode: stops when full
            self.head = (self.head + 1) % _DEPTH
            self.count -= 1
            self.overruns += 1
            self.ovr_ia = True
            self.ovr_latched = True
        tag = 0x10 | ((k & 3) << 1)
        p = tag >> 1
        p ^= p >> 4
        p ^= p >> 2
        p ^= p >> 1
        _put(self.ring, ((self.head + self.count) % _DEPTH) * _W, tag | (p & 1), out[0], out[1], out[2])
        self.count += 1

    def _flags(self):
        c = self.count
        s = (c >> 8) & 3
        w = self.wtm()
        if w and c >= w:
            s |= 0x80
        if self.ovr_ia:
            s |= 0x40
        if c >= self._depth():
            s |= 0x20
        if self.ovr_latched:
            s |= 0x08
        return s

    def _irq_update(self):
        if self.int1 is None:
            return
        m = self.regs[0x0D]
        s = self._flags()
        lvl = 0
        if (m & 0x08 and s & 0x80) or (m & 0x10 and s & 0x40) or (m & 0x20 and s & 0x20) or (m & 0x01 and self._rate):
            lvl = 1
        self.int1.value(lvl ^ 1 if self.regs[0x12] & 0x20 else lvl)

    def _pop(self):
        if self.count:
            self.head = (self.head + 1) % _DEPTH
            self.count -= 1
            if self.count < self._depth():
                self.ovr_ia = False

    # ---- bus ------------------------------------------------------------------------------
    def spi_decode(self, cmd):
        self._spi_addr = cmd & 0x7F
        self._spi_read = bool(cmd & 0x80)
        self._spi_inc = bool(self.regs[0x12] & 0x04)

    def spi_mode_ok(self, polarity, phase):
        return polarity == phase

    def next_reg(self, reg):
        return 0x78 if reg == 0x7E else (reg + 1) & 0x7F

    def spi_read_burst(self, buf, n, polarity, phase):
        """FIFO bursts from FIFO_DATA_OUT_TAG copy whole words (the same bytes as byte by byte)."""
        if (self._spi_state != 2 or not self._spi_read or self._spi_addr != 0x78 or not self._spi_inc
                or not self.spi_mode_ok(polarity, phase)):
            ChipEmu.spi_read_burst(self, buf, n, polarity, phase)
            return
        words = n // _W
        k = words if words < self.count else self.count
        if k:
            _copy(buf, 0, self.ring, self.head * _W, k * _W, _DEPTH * _W)
            self.head = (self.head + k) % _DEPTH
            self.count -= k
            if self.count < self._depth():
                self.ovr_ia = False
        for i in range(k * _W, n):
            buf[i] = 0  # reads of an empty FIFO (and a trailing part word: not modelled)
        if self.flip_next:
            buf[n // 2] ^= self.flip_next
            self.flip_next = 0

    def read_reg(self, reg):
        reg &= 0x7F
        if 0x78 <= reg <= 0x7E:
            if not self.count:
                return 0
            v = self.ring[self.head * _W + reg - 0x78]
            if reg == 0x7E:
                self._pop()
            return v
        if reg == 0x3A:
            return self.count & 0xFF
        if reg == 0x3B:
            s = self._flags()
            self.ovr_latched = False
            return s
        if 0x28 <= reg <= 0x2D:
            v = self.out[(reg - 0x28) >> 1] & 0xFFFF
            return v >> 8 if reg & 1 else v & 0xFF
        if reg == 0x20:
            t = self.sim.temperature_mc(self.clock.now_us())
            self._tword = clamp(((t - 25000) * 32) // 125, -32768, 32767) & 0xFFFF  # 256 LSB/C
            return self._tword & 0xFF
        if reg == 0x21:
            return self._tword >> 8
        if reg == 0x1E:
            return 0x05 if self._rate else 0x04
        if reg == 0x0F:
            return 0x7B
        if reg in _WMASK:
            return self.regs[reg]
        return 0

    def end_read(self):
        self._irq_update()

    def write_reg(self, reg, val):
        reg &= 0x7F
        m = _WMASK.get(reg)
        if m is None:
            return  # read-only and reserved registers ignore writes
        if reg == 0x12 and val & 0x01:
            self.reset()  # SW_RESET
            return
        val &= m
        if reg == 0x12:
            val &= 0x7F  # BOOT self-clears
        self.regs[reg] = val
        if reg == 0x0A and val & 7 == 0:  # bypass: the FIFO empties
            self.head = 0
            self.count = 0
            self.ovr_ia = False
            self.ovr_latched = False
        elif reg in (0x10, 0x17):
            self._filters()
        if reg == 0x10:
            self.sync()  # power-up starts the ODR clock now
        self._irq_update()

    def _filters(self):
        r = self.regs
        self._hp = bool(r[0x17] & 0x04)
        if not (r[0x10] & 0x02 or self._hp):
            self._a = 0
            return
        div = _DIV[r[0x17] >> 5]
        # one pole at fc = ODR / div: a = 1 - exp(-2 pi / div), Q15
        import math
        self._a = int(32768 * (1 - math.exp(-2 * math.pi / div)))
        for i in range(3):
            self._lp[i] = 0
