# Common machinery for register-level chip emulators.
#
# A chip emulator is a register file with side effects (FIFO pops, flag clears) behind two
# front ends, exactly like silicon: an I2C target (register address then data, auto-increment
# policy per chip) and an SPI target (command byte with read and multi-byte bits, then data),
# selected by its chip-select pin. Time comes from the board clock: on every access the chip
# "catches up", producing the samples its output data rate would have produced since the last
# access, into its FIFO, overrunning like the chip when the consumer is late.
#
# Injectable faults (tests set these attributes):
#   present = False       the chip does not answer (I2C NACK -> OSError ENODEV, SPI reads 0xFF)
#   dead = True           the chip answers but stops producing data (FIFO never fills)
#   flip_next = mask      XOR mask applied to one byte of the next read transaction
#   rate_ppm = n          the chip's oscillator runs n ppm fast (negative: slow)
# (a stuck bus is a bus fault: machine.VirtualI2CBus.stuck / VirtualSPIBus.stuck)


class ChipEmu:
    def __init__(self, clock, sim):
        self.clock = clock
        self.sim = sim
        self.present = True
        self.dead = False
        self.flip_next = 0
        self.rate_ppm = 0
        self.reads = 0
        self.writes = 0
        self._spi_state = 0  # 0 idle, 1 selected awaiting command, 2 data phase
        self._spi_addr = 0
        self._spi_read = False
        self._spi_inc = False
        self._touched_data = False

    # ---- to be provided by each chip -----------------------------------------------------
    def sync(self):
        """Catch up with emulated time (produce samples)."""

    def read_reg(self, reg):
        return 0

    def write_reg(self, reg, val):
        pass

    def end_read(self):
        """Called when a read transaction ends (FIFO pops happen here)."""

    def i2c_decode(self, sub):
        """-> (register, auto_increment) from the I2C sub-address byte."""
        return sub, True

    def spi_decode(self, cmd):
        """-> (register, is_read, auto_increment) from the SPI command byte."""
        return cmd & 0x3F, bool(cmd & 0x80), bool(cmd & 0x40)

    def spi_mode_ok(self, polarity, phase):
        return True

    # ---- I2C front end -------------------------------------------------------------------
    def i2c_read(self, sub, buf):
        self.sync()
        self.reads += 1
        reg, inc = self.i2c_decode(sub if sub is not None else 0)
        n = len(buf)
        for i in range(n):
            buf[i] = self.read_reg(reg) & 0xFF
            if inc:
                reg = self.next_reg(reg)
        if self.flip_next:
            buf[n // 2] ^= self.flip_next
            self.flip_next = 0
        self.end_read()

    def i2c_write(self, sub, data):
        self.sync()
        self.writes += 1
        reg, inc = self.i2c_decode(sub)
        for b in data:
            self.write_reg(reg, b & 0xFF)
            if inc:
                reg = self.next_reg(reg)

    def next_reg(self, reg):
        return (reg + 1) & 0xFF

    # ---- SPI front end -------------------------------------------------------------------
    def spi_select(self):
        self.sync()
        self._spi_state = 1

    def spi_deselect(self):
        if self._spi_state == 2 and self._spi_read:
            self.end_read()
            if self.flip_next:
                self.flip_next = 0
        self._spi_state = 0

    def spi_byte(self, w, polarity, phase):
        if not self.spi_mode_ok(polarity, phase):
            return 0x00  # sampled on the wrong edge: the chip sees nothing sensible
        if self._spi_state == 1:
            self._spi_addr, self._spi_read, self._spi_inc = self.spi_decode(w)
            self._spi_state = 2
            if self._spi_read:
                self.reads += 1
            else:
                self.writes += 1
            return 0xFF
        if self._spi_state != 2:
            return 0xFF
        reg = self._spi_addr
        if self._spi_inc:
            self._spi_addr = self.next_reg(reg)
        if self._spi_read:
            r = self.read_reg(reg) & 0xFF
            if self.flip_next:
                r ^= self.flip_next
                self.flip_next = 0
            return r
        self.write_reg(reg, w & 0xFF)
        return 0xFF

    def spi_read_burst(self, buf, n, polarity, phase):
        for i in range(n):
            buf[i] = self.spi_byte(0, polarity, phase)


def clamp(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v
