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
from muldiv import muldiv, scale_ppm


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
        self._reg = 0
        self._inc = True
        self.t_start = 0
        self.k_done = 0

    # ---- to be provided by each chip -----------------------------------------------------
    def sync(self):
        """Catch up with emulated time (produce samples)."""

    def read_reg(self, reg):
        return 0

    def write_reg(self, reg, val):
        pass

    def end_read(self):
        """Called when a read transaction ends (FIFO pops happen here)."""

    # Decoders set attributes instead of returning tuples: a tuple is a heap object, and the
    # emulators run inside the node's heap, where burst reads must not allocate.
    def i2c_decode(self, sub):
        """Sets self._reg and self._inc (auto-increment) from the I2C sub-address byte."""
        self._reg = sub
        self._inc = True

    def spi_decode(self, cmd):
        """Sets self._spi_addr, self._spi_read, self._spi_inc from the SPI command byte."""
        self._spi_addr = cmd & 0x3F
        self._spi_read = bool(cmd & 0x80)
        self._spi_inc = bool(cmd & 0x40)

    def next_reg(self, reg):
        """The register after `reg` in a multi-byte transfer (chips with FIFO windows wrap)."""
        return (reg + 1) & 0xFF

    def spi_mode_ok(self, polarity, phase):
        return True

    # ---- sample production in emulated time (for chips with an output data rate) ------------
    def start_stream(self):
        """Measurement (re)starts now: sample k is due at t_start + k / rate."""
        self.t_start = self.clock.now_us()
        self.k_done = 0

    def samples_due(self, rate_mhz):
        """How many samples are due since start_stream at rate_mhz (milli-hertz, scaled by rate_ppm),
        exact and without big ints on a 32-bit port (this runs inside heap-locked burst reads)."""
        rate = scale_ppm(rate_mhz, self.rate_ppm)
        if rate <= 0:
            return -1
        return muldiv(self.clock.now_us() - self.t_start, rate, 1000000000)

    def catch_up(self, rate_mhz, keep):
        """Produce (via self.produce(k)) every sample due by now at rate_mhz (milli-hertz, scaled
        by rate_ppm). When more than `keep` are due (a consumer later than the FIFO is deep),
        only the newest `keep` are produced and the rest are handed to self.lost_samples(n):
        the result is the same as producing them all into an overwriting FIFO, without the work.
        A dead chip produces nothing (and does not catch up when it revives)."""
        k_total = self.samples_due(rate_mhz)
        if k_total < 0:
            return
        new = k_total - self.k_done
        if new <= 0:
            return
        if self.dead:
            self.k_done = k_total
            return
        if keep and new > keep:
            skip = new - keep
            self.k_done += skip
            self.lost_samples(skip)
        while self.k_done < k_total:
            self.produce(self.k_done)
            self.k_done += 1

    def produce(self, k):
        pass

    def lost_samples(self, n):
        pass

    # ---- I2C front end -------------------------------------------------------------------
    def i2c_read(self, sub, buf):
        self.sync()
        self.reads += 1
        self.i2c_decode(sub if sub is not None else 0)
        reg = self._reg
        inc = self._inc
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
        self.i2c_decode(sub)
        reg = self._reg
        inc = self._inc
        for b in data:
            self.write_reg(reg, b & 0xFF)
            if inc:
                reg = self.next_reg(reg)
        self.end_write()

    def end_write(self):
        """Called when a write transaction ends (chips that latch multi-byte registers)."""

    # ---- SPI front end -------------------------------------------------------------------
    def spi_select(self):
        self.sync()
        self._spi_state = 1

    def spi_deselect(self):
        if self._spi_state == 2:
            if self._spi_read:
                self.end_read()
                if self.flip_next:
                    self.flip_next = 0
            else:
                self.end_write()
        self._spi_state = 0

    def spi_byte(self, w, polarity, phase):
        if not self.spi_mode_ok(polarity, phase):
            return 0x00  # sampled on the wrong edge: the chip sees nothing sensible
        if self._spi_state == 1:
            self.spi_decode(w)
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
