# MPU-6050 register-level emulator (InvenSense register map RM-MPU-6000A-00 rev 4.2), I2C only.
#
# Registers: SELF_TEST_X/Y/Z/A 0x0D-0x10 (factory trim, XA/YA/ZA_TEST = 16 here); SMPLRT_DIV 0x19;
# CONFIG 0x1A (bits 7:6 reserved, EXT_SYNC_SET 5:3, DLPF_CFG 2:0); GYRO_CONFIG 0x1B; ACCEL_CONFIG
# 0x1C (XA_ST 7, YA_ST 6, ZA_ST 5, AFS_SEL 4:3); FIFO_EN 0x23 (TEMP 7, XG 6, YG 5, ZG 4, ACCEL 3);
# INT_PIN_CFG 0x37 (INT_LEVEL 7 = active low); INT_ENABLE 0x38 (FIFO_OFLOW_EN 4, DATA_RDY_EN 0);
# INT_STATUS 0x3A (read-only, cleared by reading); ACCEL_XOUT_H..ACCEL_ZOUT_L 0x3B-0x40, TEMP_OUT
# 0x41-0x42, GYRO_OUT 0x43-0x48 (read-only, big-endian); USER_CTRL 0x6A (FIFO_EN 6, FIFO_RESET 2
# and SIG_COND_RESET 0 self-clearing); PWR_MGMT_1 0x6B (reset 0x40: SLEEP; DEVICE_RESET 7);
# PWR_MGMT_2 0x6C; FIFO_COUNTH/L 0x72-0x73 (read-only, bytes); FIFO_R_W 0x74; WHO_AM_I 0x75 =
# 0x68 (read-only). Registers outside the map ignore writes and read 0.
# Rates: gyro output rate 8 kHz (DLPF_CFG 0 or 7) or 1 kHz; sample rate = that / (1 + SMPLRT_DIV);
# the accelerometer itself updates at 1 kHz (repeated samples above). FIFO: 1024 bytes, frames
# in register order (accel, temp, gyro); overflow overwrites the oldest bytes (framing breaks),
# sets FIFO_OFLOW_INT. Multi-byte reads auto-increment, except at FIFO_R_W.
import array
from emulators.base import ChipEmu, clamp
from muldiv import muldiv

WHO_AM_I = 0x68
_FIFO = 1024
TRIM_CODE = 16  # XA_TEST = YA_TEST = ZA_TEST
# self-test response in micro-g (2350, 2250, 2400 LSB at +-8 g; factory trim for code 16 is 2291)
SELF_TEST_UG = (573730, 549316, 585938)
_RW = set([0x0D, 0x0E, 0x0F, 0x10, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F, 0x23, 0x24, 0x25, 0x26,
           0x27, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x2D, 0x2E, 0x2F, 0x30, 0x31, 0x32, 0x33, 0x34, 0x37, 0x38,
           0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x6A, 0x6B, 0x6C, 0x74])


class MPU6050Emu(ChipEmu):
    I2C_ADDRS = (0x68, 0x69)

    def __init__(self, clock, sim, int1=None, int2=None):
        ChipEmu.__init__(self, clock, sim)
        self.int1 = int1
        self.regs = bytearray(128)
        self.fifo = bytearray(_FIFO)
        self.frame = bytearray(14)
        self._tmp = array.array("i", [0, 0, 0])
        self.reset()

    def reset(self):
        r = self.regs
        for i in range(128):
            r[i] = 0
        r[0x75] = WHO_AM_I
        r[0x6B] = 0x40
        c = TRIM_CODE
        r[0x0D] = (c >> 2) << 5
        r[0x0E] = (c >> 2) << 5
        r[0x0F] = (c >> 2) << 5
        r[0x10] = ((c & 3) << 4) | ((c & 3) << 2) | (c & 3)
        self.head = 0
        self.count = 0
        self.status = 0
        self.produced = 0
        self.overruns = 0
        self._rate = 0
        self._tc = 0
        for i in range(14):
            self.frame[i] = 0
        self.start_stream()

    def rate_mhz(self):
        r = self.regs
        if r[0x6B] & 0x40:
            return 0  # sleeping
        dlpf = r[0x1A] & 7
        base = 8000000 if dlpf in (0, 7) else 1000000
        return base // (1 + r[0x19])

    def _frame_len(self):
        e = self.regs[0x23]
        n = 6 if e & 0x08 else 0
        if e & 0x80:
            n += 2
        for bit in (0x40, 0x20, 0x10):
            if e & bit:
                n += 2
        return n

    def sync(self):
        rate = self.rate_mhz()
        if rate != self._rate:
            self._rate = rate
            self.start_stream()
        if rate == 0:
            return
        fl = self._frame_len()
        keep = (_FIFO // fl + 2) if fl and self.regs[0x6A] & 0x40 else 1
        self.catch_up(rate, keep)

    def lost_samples(self, n):
        self.produced += n
        if self._frame_len() and self.regs[0x6A] & 0x40:
            self.overruns += n
            self.status |= 0x10
            self.head = 0
            self.count = 0  # the FIFO will hold the stream's last 1024 bytes, as after overwriting

    def produce(self, k):
        r = self.regs
        rate = self.rate_mhz()
        t = self._tmp
        ka = muldiv(k, 1000000, rate) if rate > 1000000 else k  # the accelerometer updates at 1 kHz
        self.sim.sample(ka, 1000000 if rate > 1000000 else rate, t)
        self.produced += 1
        afs = (r[0x1C] >> 3) & 3
        lsb_per_g = 16384 >> afs
        f = self.frame
        for ax in range(3):
            a = t[ax]
            if r[0x1C] & (0x80 >> ax):
                a += SELF_TEST_UG[ax]
            ah = a // 1000  # a * lsb_per_g // 10**6 without a big int on a 32-bit port
            v = clamp((ah * lsb_per_g + (a - ah * 1000) * lsb_per_g // 1000) // 1000, -32768, 32767)
            f[2 * ax] = (v >> 8) & 0xFF
            f[2 * ax + 1] = v & 0xFF
        self.status |= 0x01
        if r[0x6A] & 0x40:
            e = r[0x23]
            if e & 0x08:
                for i in range(6):
                    self._push(f[i])
            if e & 0x80:
                tc = self._temp()
                self._push((tc >> 8) & 0xFF)
                self._push(tc & 0xFF)
            for bit in (0x40, 0x20, 0x10):
                if e & bit:
                    self._push(0)
                    self._push(0)
        self._irq_update()

    def _temp(self):
        # TEMP_OUT = (T - 36.53 C) * 340 (computed when read: the simulator's temperature is float)
        return clamp((self.sim.temperature_mc(self.clock.now_us()) - 36530) * 340 // 1000, -32768, 32767)

    def _push(self, b):
        if self.count >= _FIFO:
            self.head = (self.head + 1) % _FIFO  # overwrite the oldest byte
            self.count -= 1
            if not self.status & 0x10:
                self.overruns += 1
            self.status |= 0x10
        self.fifo[(self.head + self.count) % _FIFO] = b
        self.count += 1

    def _irq_update(self):
        if self.int1 is not None:
            lvl = 1 if self.status & self.regs[0x38] & 0x11 else 0
            self.int1.value(lvl ^ (1 if self.regs[0x37] & 0x80 else 0))

    def next_reg(self, reg):
        return reg if reg == 0x74 else (reg + 1) & 0x7F

    def read_reg(self, reg):
        reg &= 0x7F
        r = self.regs
        if 0x3B <= reg <= 0x40:
            return self.frame[reg - 0x3B]
        if reg == 0x41:
            self._tc = self._temp()
            return (self._tc >> 8) & 0xFF
        if reg == 0x42:
            return self._tc & 0xFF
        if reg == 0x3A:
            s = self.status
            self.status = 0
            self._irq_update()
            return s
        if reg == 0x72:
            return self.count >> 8
        if reg == 0x73:
            return self.count & 0xFF
        if reg == 0x74:
            if self.count == 0:
                return 0
            b = self.fifo[self.head]
            self.head = (self.head + 1) % _FIFO
            self.count -= 1
            return b
        if reg == 0x75 or reg in _RW:
            return r[reg]
        return 0

    def write_reg(self, reg, val):
        reg &= 0x7F
        if reg not in _RW:
            return  # read-only and unmapped registers ignore writes
        if reg == 0x74:
            self._push(val)
            return
        if reg == 0x6B:
            if val & 0x80:
                self.reset()
                return
            val &= 0x6F  # bit 4 reserved
        elif reg == 0x1A:
            val &= 0x3F
        elif reg == 0x6A:
            if val & 0x04:
                self.head = 0
                self.count = 0
                self.status &= ~0x10
            val &= 0x70  # the reset bits clear themselves; bits 7 and 3 reserved
        self.regs[reg] = val
        if reg in (0x19, 0x1A, 0x6B):
            self.sync()  # a new sample rate (or waking up) starts its clock now
