# LIS3DH register-level emulator (ST DocID17530 Rev 2; FIFO per AN3308).
#
# Register map: WHO_AM_I 0x0F = 0x33 (read-only); 0x00-0x06 and 0x10-0x1D reserved (writes
# ignored, read 0); STATUS_REG_AUX 0x07 and OUT_ADC 0x08-0x0D read-only (ADCs not emulated,
# read 0); CTRL_REG0 0x1E (bits 6:0 fixed at 0010000); TEMP_CFG 0x1F (bits 5:0 reserved);
# CTRL_REG1 0x20 (ODR 7:4, LPen 3, Z/Y/X en; reset 0x07); CTRL_REG2 0x21; CTRL_REG3 0x22 (I1_WTM
# 0x04, I1_OVERRUN 0x02, bit 0 reserved); CTRL_REG4 0x23 (BDU 7, BLE 6, FS 5:4, HR 3, ST 2:1);
# CTRL_REG5 0x24 (BOOT 7 self-clearing, FIFO_EN 6, bits 5:4 reserved); CTRL_REG6 0x25
# (H_LACTIVE 1, bits 2 and 0 reserved); STATUS_REG 0x27 (ZYXOR 7, ZYXDA 3) and OUT_X_L..OUT_Z_H
# 0x28-0x2D read-only; FIFO_CTRL 0x2E (FM 7:6, TR 5, FTH 4:0); FIFO_SRC 0x2F read-only (WTM 7,
# OVRN_FIFO 6, EMPTY 5, FSS 4:0; 32 unread = OVRN with FSS 0).
# Data: left-justified two's complement, little-endian (BLE swaps): 12-bit in high-resolution
# (HR=1), 10-bit normal, 8-bit low-power (LPen=1); sensitivity 1/2/4/12, 4/8/16/48, 16/32/64/192
# mg/digit at +-2/4/8/16 g. ODR codes 1-7 = 1..400 Hz, 8 = 1.6 kHz (LP), 9 = 1.344 kHz (HR/normal)
# or 5.376 kHz (LP); codes 10-15 are not allowed and leave the chip powered down.
# FIFO: 32 samples; bypass / FIFO (stops when full) / stream (overwrites oldest) /
# stream-to-FIFO (as stream: no trigger emulated). Reading OUT_Z_H pops a sample; with FIFO_EN a
# multi-byte read wraps 0x2D -> 0x28. I2C: SUB bit 7 = auto-increment. SPI: mode 3, bit 7 read,
# bit 6 MS (auto-increment), address 5:0.
import array
from emulators.base import ChipEmu, clamp

WHO_AM_I = 0x33
_DEPTH = 32
_MG = ((1, 2, 4, 12), (4, 8, 16, 48), (16, 32, 64, 192))  # HR, normal, LP
# self-test output change in micro-g (datasheet: 17..360 digits at 4 mg, normal mode +-2 g)
SELF_TEST_UG = (300000, 300000, 500000)
_ODR_MHZ = (0, 1000, 10000, 25000, 50000, 100000, 200000, 400000, 1600000)


class LIS3DHEmu(ChipEmu):
    I2C_ADDRS = (0x18, 0x19)

    def __init__(self, clock, sim, int1=None, int2=None):
        ChipEmu.__init__(self, clock, sim)
        self.int1 = int1
        self.int2 = int2
        self.regs = bytearray(64)
        self.fifo = array.array("h", bytes(2 * 3 * _DEPTH))
        self.out = array.array("h", [0, 0, 0])
        self._tmp = array.array("i", [0, 0, 0])
        self.reset()

    def reset(self):
        r = self.regs
        for i in range(64):
            r[i] = 0
        r[0x0F] = WHO_AM_I
        r[0x1E] = 0x10
        r[0x20] = 0x07
        self.head = 0
        self.count = 0
        self.overruns = 0  # samples lost (for tests)
        self.produced = 0
        self._new = False
        self._ovr_data = False
        self._rate = 0
        self.start_stream()

    # ---- configuration decoded ------------------------------------------------------------
    def rate_mhz(self):
        c1 = self.regs[0x20]
        code = c1 >> 4
        if code == 9:
            return 5376000 if c1 & 0x08 else 1344000
        if code < 9:
            return _ODR_MHZ[code]
        return 0

    def _mode(self):
        """0 high-resolution, 1 normal, 2 low-power"""
        if self.regs[0x20] & 0x08:
            return 2
        return 0 if self.regs[0x23] & 0x08 else 1

    def _fifo_on(self):
        return self.regs[0x24] & 0x40 and self.regs[0x2E] >> 6

    # ---- time ------------------------------------------------------------------------------
    def sync(self):
        rate = self.rate_mhz()
        if rate != self._rate:
            self._rate = rate
            self.start_stream()
        if rate == 0:
            return
        fm = self.regs[0x2E] >> 6 if self.regs[0x24] & 0x40 else 0
        self.catch_up(rate, (_DEPTH + 1) if fm in (2, 3) else 0)
        self._irq_update()

    def lost_samples(self, n):
        self.overruns += n
        self.produced += n

    def produce(self, k):
        t = self._tmp
        self.sim.sample(k, self.rate_mhz(), t)
        self.produced += 1
        r = self.regs
        mode = self._mode()
        bits = (12, 10, 8)[mode]
        ug = _MG[mode][(r[0x23] >> 4) & 3] * 1000
        hi = (1 << (bits - 1)) - 1
        lo = -(1 << (bits - 1))
        st = (r[0x23] >> 1) & 3
        fm = r[0x2E] >> 6 if r[0x24] & 0x40 else 0
        if fm == 0:
            slot = -1
            if self._new:
                self._ovr_data = True
        else:
            if self.count >= _DEPTH:
                if fm == 1:  # FIFO mode: full, stop collecting
                    self.overruns += 1
                    return
                self.head = (self.head + 1) % _DEPTH
                self.count -= 1
                self.overruns += 1
            slot = (self.head + self.count) % _DEPTH
            self.count += 1
        for ax in range(3):
            a = t[ax]
            if st == 1:
                a += SELF_TEST_UG[ax]
            elif st == 2:
                a -= SELF_TEST_UG[ax]
            v = clamp(a // ug, lo, hi) << (16 - bits)
            if slot < 0:
                self.out[ax] = v
            else:
                self.fifo[slot * 3 + ax] = v
        self._new = True

    def _wtm(self):
        fth = self.regs[0x2E] & 0x1F
        return self._fifo_on() and fth and self.count >= fth

    def _irq_update(self):
        c3 = self.regs[0x22]
        lvl = 0
        if c3 & 0x04 and self._wtm():
            lvl = 1
        if c3 & 0x02 and self._fifo_on() and self.count >= _DEPTH:
            lvl = 1
        if c3 & 0x10 and self._new:
            lvl = 1
        if self.int1 is not None:
            self.int1.value(lvl ^ (1 if self.regs[0x25] & 0x02 else 0))

    # ---- registers -------------------------------------------------------------------------
    def i2c_decode(self, sub):
        self._reg = sub & 0x7F
        self._inc = bool(sub & 0x80)

    def spi_decode(self, cmd):
        self._spi_addr = cmd & 0x3F
        self._spi_read = bool(cmd & 0x80)
        self._spi_inc = bool(cmd & 0x40)

    def spi_mode_ok(self, polarity, phase):
        return polarity == 1 and phase == 1

    def next_reg(self, reg):
        if reg == 0x2D and self.regs[0x24] & 0x40:
            return 0x28
        return (reg + 1) & 0x3F

    def read_reg(self, reg):
        reg &= 0x3F
        if 0x28 <= reg <= 0x2D:
            ax = (reg - 0x28) >> 1
            if self._fifo_on() and self.count:
                v = self.fifo[self.head * 3 + ax]
            else:
                v = self.out[ax]
            hi_byte = reg & 1
            if self.regs[0x23] & 0x40:  # BLE: MSB at the lower address
                hi_byte ^= 1
            b = (v >> 8) & 0xFF if hi_byte else v & 0xFF
            if reg == 0x2D:
                self._pop()
            return b
        if reg == 0x27:
            return (0x0F if self._new else 0) | (0xF0 if self._ovr_data else 0)
        if reg == 0x2F:
            s = 0
            n = self.count if self._fifo_on() else 0
            if self._wtm():
                s |= 0x80
            if n >= _DEPTH:
                s |= 0x40
            if n == 0:
                s |= 0x20
            return s | (n & 0x1F)
        if reg <= 0x06 or 0x10 <= reg <= 0x1D or 0x07 <= reg <= 0x0D:
            return 0
        return self.regs[reg]

    def _pop(self):
        if self._fifo_on() and self.count:
            b = self.head * 3
            o = self.out
            o[0] = self.fifo[b]
            o[1] = self.fifo[b + 1]
            o[2] = self.fifo[b + 2]
            self.head = (self.head + 1) % _DEPTH
            self.count -= 1
            if self.count == 0:
                self._new = False
        else:
            self._new = False
            self._ovr_data = False

    def end_read(self):
        self._irq_update()

    def write_reg(self, reg, val):
        reg &= 0x3F
        if reg < 0x1E or reg in (0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2F, 0x31, 0x35, 0x39):
            return  # reserved and read-only registers ignore writes
        if reg == 0x1E:
            val = (val & 0x80) | 0x10
        elif reg == 0x1F:
            val &= 0xC0
        elif reg == 0x22:
            val &= 0xFE
        elif reg == 0x24:
            if val & 0x80:  # BOOT: reload trimming, self-clearing
                val &= 0x7F
            val &= 0xCF
            if not val & 0x40:
                self.count = 0  # FIFO off: its content is gone
        elif reg == 0x25:
            val &= 0xFA
        elif reg == 0x2E:
            if (val >> 6) != (self.regs[0x2E] >> 6):
                self.count = 0  # a mode change (through bypass) empties the FIFO
                self.head = 0
        self.regs[reg] = val
        if reg == 0x20:
            self.sync()  # a new ODR starts its clock now
        if reg in (0x20, 0x22, 0x23, 0x24, 0x25, 0x2E):
            self._irq_update()
