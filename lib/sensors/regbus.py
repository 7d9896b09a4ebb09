# Register access over I2C or SPI: one driver core, thin bus adapters (the Adafruit split).
#
# A driver core talks to registers through `read_into(reg, buf)`, `read_u8(reg)` and
# `write_u8(reg, val)`; the adapter knows the bus framing. Both adapters preallocate their
# scratch buffers, so hot-path reads allocate nothing.
from micropython import const

_READ = const(0x80)


class I2CRegs:
    """Registers of an I2C chip at `addr`. `inc` is the chip's auto-increment flag that must be
    ORed into the sub-address for multi-byte transfers (0 for chips that always increment,
    0x80 for ST chips like the LIS3DH)."""

    def __init__(self, i2c, addr, inc=0):
        self.i2c = i2c
        self.addr = addr
        self.inc = inc
        self._b1 = bytearray(1)
        self.kind = "i2c"

    def read_into(self, reg, buf):
        self.i2c.readfrom_mem_into(self.addr, reg | (self.inc if len(buf) > 1 else 0), buf)

    def read_u8(self, reg):
        self.i2c.readfrom_mem_into(self.addr, reg, self._b1)
        return self._b1[0]

    def write_u8(self, reg, val):
        self._b1[0] = val
        self.i2c.writeto_mem(self.addr, reg, self._b1)

    def write(self, reg, buf):
        self.i2c.writeto_mem(self.addr, reg | (self.inc if len(buf) > 1 else 0), buf)

    def describe(self):
        return "i2c@0x%02x" % self.addr


# The SPI mode last applied to each bus (keyed by id(spi)): chips on one bus may need different
# modes (ADXL345 mode 3, ADXL355 mode 0), but re-initialising the peripheral before every
# transaction costs tens of microseconds on an ESP32, so it happens only when the mode changes.
_applied = {}


class SPIRegs:
    """Registers of an SPI chip selected by `cs` (a machine.Pin, active low). `read` is the
    read flag and `multi` the multi-byte/auto-increment flag of the command byte; `write` the
    write flag (MAX31865: 0x80, reads have A7 = 0); `addr_mask` keeps the address bits; `shift`
    places the address (1 for chips like the ADXL355 whose command is addr << 1 | R)."""

    def __init__(self, spi, cs, read=_READ, multi=0x40, addr_mask=0x3F, shift=0, polarity=1, phase=1,
                 baudrate=5000000, write=0):
        self.spi = spi
        self.cs = cs
        self.read = read
        self.wflag = write
        self.multi = multi
        self.addr_mask = addr_mask
        self.shift = shift
        self.polarity = polarity
        self.phase = phase
        self.baudrate = baudrate
        self._cmd = bytearray(1)
        self._b1 = bytearray(1)
        self.kind = "spi"
        self._mode = (baudrate, polarity, phase)
        self._key = id(spi)
        cs.value(1)

    def _begin(self, cmd):
        if _applied.get(self._key) is not self._mode:
            self.spi.init(baudrate=self.baudrate, polarity=self.polarity, phase=self.phase)
            _applied[self._key] = self._mode
        self._cmd[0] = cmd
        self.cs.value(0)
        self.spi.write(self._cmd)

    def read_into(self, reg, buf):
        cmd = ((reg & self.addr_mask) << self.shift) | self.read
        if len(buf) > 1:
            cmd |= self.multi
        self._begin(cmd)
        try:
            self.spi.readinto(buf)
        finally:
            self.cs.value(1)

    def read_u8(self, reg):
        self.read_into(reg, self._b1)
        return self._b1[0]

    def write_u8(self, reg, val):
        self._b1[0] = val
        self.write(reg, self._b1)

    def write(self, reg, buf):
        cmd = ((reg & self.addr_mask) << self.shift) | self.wflag
        if len(buf) > 1:
            cmd |= self.multi
        self._begin(cmd)
        try:
            self.spi.write(buf)
        finally:
            self.cs.value(1)

    def describe(self):
        return "spi@cs%s" % (getattr(self.cs, "id", "?"),)
