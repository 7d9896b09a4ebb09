# MAX31865 register-level emulator (Maxim 19-6478 rev. 3) with a platinum RTD on the machine.
#
# SPI modes 1 and 3 (CPHA = 1); address byte: A7 = 1 write, 0 read; multi-byte transfers
# auto-increment. Registers: Configuration 0x00 (1-shot D5 and fault-status-clear D1 clear
# themselves; the fault-detection cycle D3:D2 runs and reads back 00), RTD MSB/LSB 0x01-0x02
# (read-only; ADC code in bits 15:1, bit 0 = fault), High Fault Threshold 0x03-0x04 (reset
# 0xFFFF), Low Fault Threshold 0x05-0x06 (reset 0x0000), Fault Status 0x07 (read-only, latched
# until cleared). Writes go to 0x80-0x86; writes elsewhere are ignored.
# Conversions need VBIAS: continuous (auto) every 20 ms (50 Hz filter) / 16.7 ms (60 Hz), or one
# 1-shot conversion in 62.5 / 52 ms. After each conversion the code is compared with the
# thresholds (>= high: D7, < low: D6) and bit 0 of the RTD LSB shows any latched fault.
# The element: R(T) by Callendar-Van Dusen from the machine simulator's temperature. Faults to
# inject: rtd = "open" (ADC at full scale; the fault cycle adds D3 RTDIN- < 0.85 VBIAS) or
# "short" (ADC near zero).
from emulators.base import ChipEmu, clamp

_A = 3.9083e-3
_B = -5.775e-7
_C = -4.183e-12


def rtd_ohm(t, r0):
    c = _C if t < 0 else 0.0
    return r0 * (1 + _A * t + _B * t * t + c * (t - 100) * t * t * t)


class MAX31865Emu(ChipEmu):
    def __init__(self, clock, sim, int1=None, int2=None, rref=430.0, r0=100.0):
        ChipEmu.__init__(self, clock, sim)
        self.rref = rref
        self.r0 = r0
        self.rtd = "ok"
        self.regs = bytearray(8)
        self.reset()

    def reset(self):
        r = self.regs
        for i in range(8):
            r[i] = 0
        r[3] = 0xFF
        r[4] = 0xFF
        self.t_conv = 0
        self.done = 0
        self.pending_oneshot = None
        self.conversions = 0

    def _period_us(self):
        return 20000 if self.regs[0] & 0x01 else 16667

    def sync(self):
        if self.dead:
            return
        c = self.regs[0]
        now = self.clock.now_us()
        if self.pending_oneshot is not None and now >= self.pending_oneshot:
            self.pending_oneshot = None
            self._convert()
            self.regs[0] &= ~0x20
        if c & 0xC0 == 0xC0:
            m = (now - self.t_conv) // self._period_us()
            if m > self.done:
                self.done = m
                self._convert()

    def code(self):
        if self.rtd == "open":
            return 0x7FFF
        if self.rtd == "short":
            return 3
        t = self.sim.temperature_mc(self.clock.now_us()) / 1000
        return clamp(int(rtd_ohm(t, self.r0) * 32768 / self.rref + 0.5), 0, 0x7FFF)

    def _convert(self):
        self.conversions += 1
        code = self.code()
        r = self.regs
        hft = ((r[3] << 8) | r[4]) >> 1
        lft = ((r[5] << 8) | r[6]) >> 1
        if code >= hft:
            r[7] |= 0x80
        if code < lft:
            r[7] |= 0x40
        w = (code << 1) | (1 if r[7] else 0)
        r[1] = w >> 8
        r[2] = w & 0xFF

    def spi_decode(self, cmd):
        self._spi_addr = cmd & 0x7F
        self._spi_read = not (cmd & 0x80)
        self._spi_inc = True

    def spi_mode_ok(self, polarity, phase):
        return phase == 1

    def read_reg(self, reg):
        if reg < 8:
            return self.regs[reg]
        return 0

    def write_reg(self, reg, val):
        if reg > 6 or reg in (1, 2):
            return  # read-only registers ignore writes
        r = self.regs
        if reg == 0:
            old = r[0]
            if val & 0x02:
                r[7] = 0  # fault status clear
                if r[1] | r[2]:
                    r[2] &= 0xFE
            if val & 0x20 and val & 0x80:
                self.pending_oneshot = self.clock.now_us() + (62500 if val & 0x01 else 52000)
            if val & 0x0C:
                self._fault_cycle()
            val &= ~0x2E
            if val & 0x20 and not self.pending_oneshot:
                val &= ~0x20
            if val & 0xC0 == 0xC0 and old & 0xC0 != 0xC0:
                self.t_conv = self.clock.now_us()
                self.done = 0
            if self.pending_oneshot is not None:
                val |= 0x20
            r[0] = val
            return
        r[reg] = val

    def _fault_cycle(self):
        if self.rtd == "open":
            self.regs[7] |= 0x08 | 0x80
        elif self.rtd == "short":
            self.regs[7] |= 0x40
