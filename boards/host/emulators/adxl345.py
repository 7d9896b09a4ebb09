# ADXL345 register-level emulator (Analog Devices ADXL345 datasheet, Rev. G).
#
# Register map: DEVID 0x00 = 0xE5 (read-only); 0x01-0x1C reserved; OFSX/OFSY/OFSZ 0x1E-0x20
# (15.6 mg/LSB); BW_RATE 0x2C (reset 0x0A, bit 4 LOW_POWER, bits 3:0 rate, 3200 Hz / 2**(15-code));
# POWER_CTL 0x2D (bit 3 Measure); INT_ENABLE 0x2E; INT_MAP 0x2F; INT_SOURCE 0x30 (read-only:
# DATA_READY 0x80, Watermark 0x02, Overrun 0x01); DATA_FORMAT 0x31 (SELF_TEST 0x80, SPI 3-wire
# 0x40, INT_INVERT 0x20, FULL_RES 0x08, Justify 0x04, Range 1:0); DATAX0..DATAZ1 0x32-0x37
# (read-only, little-endian two's complement); FIFO_CTL 0x38 (mode 7:6 bypass/FIFO/stream/trigger,
# samples 4:0 = watermark); FIFO_STATUS 0x39 (read-only: entries 5:0).
# FIFO: 32 entries plus the output stage (33 available). Each read transaction that touches the
# data registers pops one entry. Stream mode overwrites the oldest and sets Overrun; FIFO mode
# stops collecting when full. I2C: multi-byte reads/writes always auto-increment. SPI: 4-wire,
# mode 3 (CPOL=1, CPHA=1), command bit 7 = read, bit 6 = multi-byte.
import array
from emulators.base import ChipEmu, clamp

DEVID = 0xE5
_UG_PER_LSB = 3900  # 3.9 mg/LSB full resolution (and 10-bit +-2 g)
_DEPTH = 33
_RO = (0x00, 0x2B, 0x30, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x39)
# self-test output change (LSB at 3.9 mg/LSB, Vs = 3.3 V typical), inside the datasheet limits
SELF_TEST_LSB = (230, -230, 345)


class ADXL345Emu(ChipEmu):
    I2C_ADDRS = (0x53, 0x1D)

    def __init__(self, clock, sim, int1=None, int2=None):
        ChipEmu.__init__(self, clock, sim)
        self.regs = bytearray(64)
        self.int1 = int1
        self.int2 = int2
        self.fifo = array.array("h", bytes(2 * 3 * _DEPTH))
        self._tmp = array.array("i", [0, 0, 0])
        self.reset()

    def reset(self):
        r = self.regs
        for i in range(64):
            r[i] = 0
        r[0x00] = DEVID
        r[0x2C] = 0x0A
        r[0x30] = 0x02
        self.head = 0
        self.count = 0
        self.out = array.array("h", [0, 0, 0])
        self.measuring = False
        self.t_start = 0
        self.k_done = 0
        self.overruns = 0  # total samples lost to overrun (for tests)
        self.produced = 0
        self._ovr = False
        self._drdy = False
        self._touched = False

    # ---- configuration decoded ------------------------------------------------------------
    def rate_mhz(self):
        code = self.regs[0x2C] & 0x0F
        return (3200000 >> (15 - code)) if code >= 4 else (3200000 * 100 >> (15 - code)) // 100

    def mode(self):
        return self.regs[0x38] >> 6

    def watermark(self):
        return self.regs[0x38] & 0x1F

    def _nbits(self):
        f = self.regs[0x31]
        return 10 + (f & 3) if f & 0x08 else 10

    def _ug(self):
        f = self.regs[0x31]
        return _UG_PER_LSB if f & 0x08 else _UG_PER_LSB << (f & 3)

    # ---- time ----------------------------------------------------------------------------
    def sync(self):
        if not self.measuring or self.dead:
            return
        k_total = self.samples_due(self.rate_mhz())
        new = k_total - self.k_done
        if new <= 0:
            return
        mode = self.mode()
        if mode == 0:
            self.k_done = k_total - 1
            self._produce(k_total - 1, True)
            self.k_done = k_total
            return
        if new > _DEPTH + 1 and mode != 1:
            # only the newest _DEPTH survive; the rest overran
            skip = new - _DEPTH
            self.overruns += skip
            self._ovr = True
            self.produced += skip
            self.k_done += skip
        while self.k_done < k_total:
            self._produce(self.k_done, False)
            self.k_done += 1
        self._irq_update()

    def _produce(self, k, bypass):
        t = self._tmp
        self.sim.sample(k, self.rate_mhz(), t)
        self.produced += 1
        bits = self._nbits()
        ug = self._ug()
        hi = (1 << (bits - 1)) - 1
        lo = -(1 << (bits - 1))
        r = self.regs
        st = r[0x31] & 0x80
        fifo = self.fifo
        mode = self.mode()
        if bypass:
            slot = 0
            self.count = 1
            self.head = 0
            if self._drdy:
                self._ovr = True
        else:
            if self.count >= _DEPTH:
                if mode == 1:  # FIFO mode: full, stop collecting
                    self._ovr = True
                    self.overruns += 1
                    return
                self.head = (self.head + 1) % _DEPTH
                self.count -= 1
                self._ovr = True
                self.overruns += 1
            slot = (self.head + self.count) % _DEPTH
            self.count += 1
        for ax in range(3):
            v = t[ax] // ug
            ofs = r[0x1E + ax]
            if ofs & 0x80:
                ofs -= 256
            v += ofs * 15600 // ug
            if st:
                v += SELF_TEST_LSB[ax] * _UG_PER_LSB // ug
            fifo[slot * 3 + ax] = clamp(v, lo, hi)
        self._drdy = True

    def _irq_update(self):
        src = self._int_source()
        en = self.regs[0x2E]
        act = src & en
        m = self.regs[0x2F]
        inv = self.regs[0x31] & 0x20
        inv = 1 if inv else 0
        if self.int1 is not None:  # INT_MAP bit 0 routes a source to INT1
            self.int1.value((1 if act & ~m & 0x83 else 0) ^ inv)
        if self.int2 is not None:  # INT_MAP bit 1 routes it to INT2
            self.int2.value((1 if act & m & 0x83 else 0) ^ inv)

    def _int_source(self):
        s = 0
        entries = self.count if self.count <= 32 else 32
        if self.count and self._drdy:
            s |= 0x80
        if self.mode() != 0 and entries >= self.watermark() and self.watermark():
            s |= 0x02
        if self._ovr:
            s |= 0x01
        return s

    # ---- registers -----------------------------------------------------------------------
    def read_reg(self, reg):
        reg &= 0x3F
        if 0x32 <= reg <= 0x37:
            self._touched = True
            if self.count == 0:
                v = self.out[(reg - 0x32) >> 1]
            else:
                v = self.fifo[self.head * 3 + ((reg - 0x32) >> 1)]
            bits = self._nbits()
            if self.regs[0x31] & 0x04:  # left-justified
                v = (v << (16 - bits)) & 0xFFFF
            return (v >> 8) & 0xFF if reg & 1 else v & 0xFF
        if reg == 0x30:
            return self._int_source()
        if reg == 0x39:
            e = self.count if self.count <= 32 else 32
            trig = 0x80 if self.mode() == 3 and self.regs[0x38] & 0x20 else 0
            return trig | e
        if 0x01 <= reg <= 0x1C:
            return 0
        return self.regs[reg]

    def end_read(self):
        if not self._touched:
            return
        self._touched = False
        if self.count:
            o = self.out
            b = self.head * 3
            o[0] = self.fifo[b]
            o[1] = self.fifo[b + 1]
            o[2] = self.fifo[b + 2]
            self.head = (self.head + 1) % _DEPTH
            self.count -= 1
        self._ovr = False
        if self.count == 0:
            self._drdy = False
        self._irq_update()

    def write_reg(self, reg, val):
        reg &= 0x3F
        if reg in _RO or 0x01 <= reg <= 0x1C:
            return  # read-only and reserved registers ignore writes
        if reg == 0x2C:
            val &= 0x1F  # bits 7:5 reserved
        elif reg == 0x31:
            val &= 0xEF  # bit 4 reserved
        elif reg == 0x2D:
            val &= 0x3F
            was = self.measuring
            self.measuring = bool(val & 0x08) and not (val & 0x04)
            if self.measuring and not was:
                self.t_start = self.clock.now_us()
                self.k_done = 0
        elif reg == 0x38:
            if (val >> 6) != self.mode():
                self.count = 0  # changing FIFO mode clears it
                self.head = 0
        old_rate = self.regs[0x2C]
        self.regs[reg] = val
        if reg == 0x2C and old_rate != val and self.measuring:
            self.t_start = self.clock.now_us()
            self.k_done = 0
        if reg in (0x2E, 0x2F, 0x31, 0x38):
            self._irq_update()  # the INT pins follow enables, mapping, polarity and the FIFO

    # ---- SPI -----------------------------------------------------------------------------
    def spi_mode_ok(self, polarity, phase):
        return polarity == 1 and phase == 1 and not (self.regs[0x31] & 0x40)
