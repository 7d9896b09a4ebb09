# ADXL355 register-level emulator (Analog Devices ADXL354/ADXL355 data sheet Rev. D).
#
# Registers: DEVID_AD 0x00 = 0xAD, DEVID_MST 0x01 = 0x1D, PARTID 0x02 = 0xED, REVID 0x03 = 0x01,
# STATUS 0x04 (NVM_BUSY 4, Activity 3, FIFO_OVR 2, FIFO_FULL 1 = watermark reached, DATA_RDY 0;
# FIFO_OVR and DATA_RDY clear when read), FIFO_ENTRIES 0x05, TEMP2/TEMP1 0x06-0x07 (12-bit,
# 1885 LSB at 25 C, -9.05 LSB/C), XDATA3..ZDATA1 0x08-0x10, FIFO_DATA 0x11: all read-only.
# 0x12-0x1D reserved. OFFSET_X/Y/Z 0x1E-0x23 (stored, not applied), ACT_EN 0x24, ACT_THRESH
# 0x25-0x26, ACT_COUNT 0x27, FILTER 0x28 (bit 7 reserved, HPF 6:4, ODR_LPF 3:0 = 4000 Hz / 2**n,
# codes above 10 clamp to 10), FIFO_SAMPLES 0x29 (watermark in words, reset 0x60, bit 7 reserved,
# above 96 clamps to 96), INT_MAP 0x2A (RDY_EN1 0, FULL_EN1 1, OVR_EN1 2, ...), SYNC 0x2B,
# RANGE 0x2C (I2C_HS 7, INT_POL 6 = active high, bits 5:2 reserved, range 1:0 = 01/10/11 for
# +-2.048/4.096/8.192 g; 00 is reserved and ignored; reset 0x81), POWER_CTL 0x2D (DRDY_OFF 2,
# TEMP_OFF 1, STANDBY 0; reset 0x01), SELF_TEST 0x2E (ST2 1, ST1 0), RESET 0x2F (0x52 resets).
# Data: 20-bit two's complement, bits 23:4 of 3 bytes; FIFO words add bit 1 = empty and bit 0 =
# X-axis marker. FIFO: 96 words, x/y/z written together; when full, the oldest set is lost and
# FIFO_OVR set. Leaving standby empties the FIFO and starts the ODR clock.
# I2C: multi-byte auto-increment. SPI: mode 0, command = (register << 1) | R; reads and writes
# auto-increment, except at FIFO_DATA, which stays put and pops a word every 3 bytes.
import array
from emulators.base import ChipEmu, clamp

_DEPTH = 96
SELF_TEST_UG = (300000, 300000, 1500000)  # data sheet: X, Y 0.1 .. 0.6 g; Z 0.5 .. 3.0 g


class ADXL355Emu(ChipEmu):
    I2C_ADDRS = (0x1D, 0x53)

    def __init__(self, clock, sim, int1=None, int2=None):
        ChipEmu.__init__(self, clock, sim)
        self.int1 = int1
        self.int2 = int2
        self.regs = bytearray(0x30)
        self.fifo = array.array("i", bytes(4 * _DEPTH))
        self.out = array.array("i", [0, 0, 0])
        self._tmp = array.array("i", [0, 0, 0])
        self.reset()

    def reset(self):
        r = self.regs
        for i in range(0x30):
            r[i] = 0
        r[0x00] = 0xAD
        r[0x01] = 0x1D
        r[0x02] = 0xED
        r[0x03] = 0x01
        r[0x27] = 0x01
        r[0x29] = 0x60
        r[0x2C] = 0x81
        r[0x2D] = 0x01
        self.head = 0
        self.count = 0
        self.status = 0
        self.produced = 0
        self.overruns = 0
        self._fb = 0
        self._word = 0
        self._rate = 0
        self._tword = 0
        self.start_stream()

    def rate_mhz(self):
        if self.regs[0x2D] & 0x01:
            return 0
        return 4000000 >> (self.regs[0x28] & 0x0F)

    def sync(self):
        rate = self.rate_mhz()
        if rate != self._rate:
            if self._rate == 0:
                self.head = 0
                self.count = 0
            self._rate = rate
            self.start_stream()
        if rate == 0:
            return
        self.catch_up(rate, _DEPTH // 3 + 1)
        self._irq_update()

    def lost_samples(self, n):
        self.produced += n
        self.overruns += n
        self.status |= 0x04

    def produce(self, k):
        t = self._tmp
        self.sim.sample(k, self.rate_mhz(), t)
        self.produced += 1
        rs = (self.regs[0x2C] & 3) - 1
        st = self.regs[0x2E] == 0x03
        if self.count > _DEPTH - 3:
            self.head = (self.head + 3) % _DEPTH  # the oldest set is lost
            self.count -= 3
            self.overruns += 1
            self.status |= 0x04
        for ax in range(3):
            a = t[ax]
            if st:
                a += SELF_TEST_UG[ax]
            v = clamp((a * 32 // 125) >> rs, -524288, 524287)  # a * 256 // 1000, a smaller product
            self.out[ax] = v
            self.fifo[(self.head + self.count) % _DEPTH] = v
            self.count += 1
        self.status |= 0x01

    def _irq_update(self):
        if self.int1 is None:
            return
        m = self.regs[0x2A]
        s = self.status & 0x05
        if self.count >= self.regs[0x29]:
            s |= 0x02
        lvl = 1 if s & m & 0x07 else 0
        self.int1.value(lvl if self.regs[0x2C] & 0x40 else lvl ^ 1)

    # ---- bus ------------------------------------------------------------------------------
    def i2c_decode(self, sub):
        self._reg = sub & 0x7F
        self._inc = True

    def spi_decode(self, cmd):
        self._spi_addr = cmd >> 1
        self._spi_read = bool(cmd & 1)
        self._spi_inc = True

    def spi_mode_ok(self, polarity, phase):
        return polarity == 0 and phase == 0

    def next_reg(self, reg):
        return reg if reg == 0x11 else (reg + 1) & 0x7F

    def read_reg(self, reg):
        reg &= 0x7F
        if reg == 0x11:
            if self._fb == 0:
                if self.count:
                    i = self.head
                    w = ((self.fifo[i] & 0xFFFFF) << 4) | (1 if i % 3 == 0 else 0)  # sets start at multiples of 3
                    self.head = (self.head + 1) % _DEPTH
                    self.count -= 1
                else:
                    w = 0x02  # empty indicator
                self._word = w
            sh = 16 - 8 * self._fb
            self._fb = (self._fb + 1) % 3
            return (self._word >> sh) & 0xFF
        if 0x08 <= reg <= 0x10:
            i = reg - 0x08
            w = (self.out[i // 3] & 0xFFFFF) << 4
            return (w >> (16 - 8 * (i % 3))) & 0xFF
        if reg == 0x04:
            s = self.status & 0x05
            if self.count >= self.regs[0x29]:
                s |= 0x02
            self.status = 0
            return s
        if reg == 0x05:
            return self.count
        if reg == 0x06:
            t = self.sim.temperature_mc(self.clock.now_us())
            self._tword = clamp(1885 - (905 * (t - 25000)) // 100000, 0, 4095)
            return self._tword >> 8
        if reg == 0x07:
            return self._tword & 0xFF
        if 0x12 <= reg <= 0x1D or reg >= 0x30:
            return 0
        return self.regs[reg]

    def end_read(self):
        self._fb = 0
        self._irq_update()

    def write_reg(self, reg, val):
        reg &= 0x7F
        if reg <= 0x1D or reg >= 0x30:
            return  # read-only and reserved registers ignore writes
        if reg == 0x2F:
            if val == 0x52:
                self.reset()
            return
        if reg == 0x28:
            val &= 0x7F
            if val & 0x0F > 10:
                val = (val & 0x70) | 10
        elif reg == 0x29:
            val &= 0x7F
            if val > 96:
                val = 96
        elif reg == 0x2C:
            if val & 3 == 0:
                val |= self.regs[0x2C] & 3  # range 00 is reserved
            val &= 0xC3
        elif reg == 0x2D:
            val &= 0x07
        elif reg == 0x2E:
            val &= 0x03
        self.regs[reg] = val
        if reg in (0x28, 0x2D):
            self.sync()  # leaving standby or a new ODR starts its clock now
        self._irq_update()
