# TMP117 register-level emulator (TI SNOSD82 rev. C), I2C.
#
# 16-bit registers behind an 8-bit pointer (big-endian; a read returns the pointed register,
# repeated if more bytes are clocked; the pointer does not auto-increment). Temp_Result 0x00
# (read-only; 0x8000 until the first conversion), Configuration 0x01 (bits 15:12 read-only
# flags, bit 0 reserved; Soft_Reset bit 1 self-clearing; reset 0x0220), THigh 0x02 (0x6000),
# TLow 0x03 (0x8000), EEPROM_UL 0x04, EEPROM1-3 0x05/0x06/0x08, Temp_Offset 0x07 (added to
# results), Device_ID 0x0F = 0x0117 (read-only). Other pointers read 0 and ignore writes.
# Conversions: continuous (MOD 00/10) at the CONV/AVG cycle time (SNOSD82 Table 7-7), one-shot
# (MOD 11: one conversion, then shutdown, MOD reads 01), shutdown (01). Active conversion time
# 15.5 ms per average. Data_Ready latches at each result and clears when the configuration or
# the result is read; alert mode (T/nA 0) latches HIGH/LOW_Alert until the configuration is
# read; therm mode (T/nA 1) sets HIGH_Alert above THigh and clears it below TLow.
from emulators.base import ChipEmu, clamp

DEVICE_ID = 0x0117
_CYCLE_US = (15500, 125000, 250000, 500000, 1000000, 4000000, 8000000, 16000000)
_AVG_N = (1, 8, 32, 64)
_AVG_MIN_US = (0, 125000, 500000, 1000000)
_REGS = (0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0F)


def _s16(v):
    return v - 0x10000 if v & 0x8000 else v


class TMP117Emu(ChipEmu):
    I2C_ADDRS = (0x48, 0x49, 0x4A, 0x4B)

    def __init__(self, clock, sim, int1=None, int2=None):
        ChipEmu.__init__(self, clock, sim)
        self.r = [0] * 16
        self.offset_c = 0.0  # the sensor's own error (tests set it)
        self.reset()

    def reset(self):
        r = self.r
        for i in range(16):
            r[i] = 0
        r[0x01] = 0x0220
        r[0x02] = 0x6000
        r[0x03] = 0x8000
        r[0x00] = 0x8000
        r[0x0F] = DEVICE_ID
        self.ptr = 0
        self.flags = 0  # bits 15:13
        self.done = 0
        self.t0 = self.clock.now_us()
        self.conversions = 0

    def _mode(self):
        return (self.r[1] >> 10) & 3

    def _cycle_us(self):
        c = self.r[1]
        return max(_CYCLE_US[(c >> 7) & 7], _AVG_MIN_US[(c >> 5) & 3])

    def _active_us(self):
        return 15500 * _AVG_N[(self.r[1] >> 5) & 3]

    def sync(self):
        mode = self._mode()
        if mode == 1 or self.dead:
            return
        cycle = self._cycle_us()
        active = self._active_us()
        el = self.clock.now_us() - self.t0
        if el < active:
            return
        m = 1 if mode == 3 else (el - active) // cycle + 1
        if m > self.done:
            self.done = m
            self._convert()
            if mode == 3:
                self.r[1] = (self.r[1] & ~0x0C00) | 0x0400  # one-shot done: shutdown

    def _convert(self):
        self.conversions += 1
        t = self.sim.temperature_mc(self.clock.now_us()) + int(self.offset_c * 1000)
        raw = clamp((t * 128 + (500 if t >= 0 else -500)) // 1000 + _s16(self.r[0x07]), -32767, 32767)
        self.r[0] = raw & 0xFFFF
        self.flags |= 0x2000
        hi = _s16(self.r[2])
        lo = _s16(self.r[3])
        if self.r[1] & 0x10:  # therm mode
            if raw > hi:
                self.flags |= 0x8000
            elif raw < lo:
                self.flags &= ~0x8000
        else:
            if raw > hi:
                self.flags |= 0x8000
            if raw < lo:
                self.flags |= 0x4000

    def read16(self, p):
        if p == 0x01:
            v = (self.r[1] & 0x0FFE) | self.flags
            self.flags &= 0x8000 if self.r[1] & 0x10 else 0  # alert flags and Data_Ready clear
            return v
        if p == 0x00:
            self.flags &= ~0x2000
            return self.r[0]
        if p in _REGS:
            return self.r[p]
        return 0

    def write16(self, p, v):
        if p == 0x01:
            if v & 0x02:
                self.reset()
                return
            old = self.r[1]
            self.r[1] = v & 0x0FFC
            if (old ^ self.r[1]) & 0x0FE0:  # mode / cycle / averaging changed: restart
                self.t0 = self.clock.now_us()
                self.done = 0
        elif p in (0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08):
            self.r[p] = v & 0xFFFF

    def i2c_read(self, sub, buf):
        self.sync()
        self.reads += 1
        if sub is not None:
            self.ptr = sub
        v = self.read16(self.ptr)
        for i in range(len(buf)):
            buf[i] = (v >> 8) & 0xFF if i % 2 == 0 else v & 0xFF
        if self.flip_next and len(buf):
            buf[len(buf) // 2] ^= self.flip_next
            self.flip_next = 0

    def i2c_write(self, sub, data):
        self.sync()
        self.writes += 1
        self.ptr = sub
        if len(data) >= 2:
            self.write16(sub, (data[0] << 8) | data[1])
