# MAX31865 RTD-to-digital converter driver (Maxim 19-6478 rev. 3), SPI, bus injected, for
# PT100 / PT1000 elements (2-, 3- or 4-wire).
#
#   regs = SPIRegs(spi, Pin(15), read=0x00, write=0x80, multi=0, addr_mask=0x7F, polarity=0, phase=1)
#   t = MAX31865(regs, rref=430.0, r0=100.0); t.configure(wires=3, filter_hz=50)
#   t.read_c() -> C;  t.health -> "ok" / "rtd_fault: rtd_high_threshold, ..."
#
# SPI modes 1 and 3; address byte A7 = 1 for writes, 0 for reads; multi-byte auto-increments.
# Registers: Configuration 0x00 (VBIAS 7, auto conversion 6, 1-shot 5, 3-wire 4, fault
# detection cycle 3:2, fault status clear 1, 50 Hz filter 0), RTD MSB/LSB 0x01-0x02 (15-bit ADC
# code in bits 15:1, bit 0 = fault), high/low fault thresholds 0x03-0x06, fault status 0x07.
# Resistance = code x Rref / 2**15 (code 8192 with Rref 400 ohm = 100 ohm = 0 C for a PT100).
# Temperature: Callendar-Van Dusen (IEC 60751) R(T) = R0 (1 + A T + B T^2 + C (T - 100) T^3),
# C = 0 above 0 C: solved exactly above 0 C, by Newton's method below.
from micropython import const
from sensors.accel import sleep_ms as default_sleep_ms
from sensors.errors import ABSENT, CONFIG_REJECTED, NOT_READY, RTD_FAULT, SensorError, from_bus, name_of

_CONFIG = const(0x00)
_RTD_MSB = const(0x01)
_HFT_MSB = const(0x03)
_LFT_MSB = const(0x05)
_FAULT = const(0x07)

_VBIAS = const(0x80)
_AUTO = const(0x40)
_ONE_SHOT = const(0x20)
_3WIRE = const(0x10)
_FD_AUTO = const(0x04)
_FAULT_CLEAR = const(0x02)
_50HZ = const(0x01)

CVD_A = 3.9083e-3
CVD_B = -5.775e-7
CVD_C = -4.183e-12

# fault status bits (data sheet Table 8) -> names
FAULTS = ((0x80, "rtd_high_threshold"), (0x40, "rtd_low_threshold"), (0x20, "refin_high"),
          (0x10, "refin_low_force_open"), (0x08, "rtdin_low_force_open"), (0x04, "over_under_voltage"))


def cvd_resistance(t, r0=100.0):
    """IEC 60751 resistance (ohm) of a platinum RTD at t C."""
    c = CVD_C if t < 0 else 0.0
    return r0 * (1 + CVD_A * t + CVD_B * t * t + c * (t - 100) * t * t * t)


def cvd_temperature(r, r0=100.0):
    """Temperature (C) of a platinum RTD of resistance r (inverse Callendar-Van Dusen)."""
    z = 1 - r / r0
    t = (-CVD_A + (CVD_A * CVD_A - 4 * CVD_B * z) ** 0.5) / (2 * CVD_B)
    if r >= r0:
        return t
    for _ in range(8):  # below 0 C the C term matters: Newton from the quadratic solution
        f = cvd_resistance(t, r0) - r
        d = r0 * (CVD_A + 2 * CVD_B * t + CVD_C * (4 * t * t * t - 300 * t * t))
        step = f / d
        t -= step
        if abs(step) < 1e-9:
            break
    return t


def decode_faults(status):
    return [name for bit, name in FAULTS if status & bit]


class MAX31865:
    NAME = "max31865"
    KIND = "temp"
    FIRST_MS = 25  # the first result after configure(): one 50 Hz auto conversion (21 ms)
    SPI = {"read": 0x00, "write": 0x80, "multi": 0, "addr_mask": 0x7F, "polarity": 0, "phase": 1,
           "baudrate": 1000000}

    def __init__(self, regs, rref=430.0, r0=100.0):
        self.regs = regs
        self.rref = float(rref)
        self.r0 = float(r0)
        self.health = "unknown"
        self.faults = []
        self.config = 0
        self._b2 = bytearray(2)
        self._probe()

    def _probe(self):
        """The chip has no ID register: a threshold register must hold what is written."""
        r = self.regs
        what = "%s at %s" % (self.NAME, r.describe())
        try:
            self._w16(_LFT_MSB, 0x5A5A)
            v = self._r16(_LFT_MSB)
            self._w16(_LFT_MSB, 0x0000)
            v2 = self._r16(_LFT_MSB)
        except OSError as e:
            raise from_bus(e, what)
        if v != 0x5A5A or v2 != 0:
            raise SensorError(ABSENT, "%s: threshold register reads 0x%04x/0x%04x, not 0x5a5a/0" % (what, v, v2))

    def _r16(self, reg):
        self.regs.read_into(reg, self._b2)
        return (self._b2[0] << 8) | self._b2[1]

    def _w16(self, reg, v):
        self._b2[0] = (v >> 8) & 0xFF
        self._b2[1] = v & 0xFF
        self.regs.write(reg, self._b2)

    def code_for(self, ohm):
        return max(0, min(0x7FFF, int(ohm * 32768 / self.rref + 0.5)))

    def configure(self, wires=2, filter_hz=50, low_c=-200.0, high_c=850.0):
        """Bias on, continuous conversion, 3-wire or 2/4-wire, 50 or 60 Hz notch; fault
        thresholds at the resistances of low_c and high_c (an open or shorted element trips them)."""
        cfg = _VBIAS | _AUTO | (_3WIRE if wires == 3 else 0) | (_50HZ if filter_hz == 50 else 0)
        r = self.regs
        r.write_u8(_CONFIG, cfg)
        self._w16(_HFT_MSB, self.code_for(cvd_resistance(high_c, self.r0)) << 1)
        self._w16(_LFT_MSB, self.code_for(cvd_resistance(low_c, self.r0)) << 1)
        r.write_u8(_CONFIG, cfg | _FAULT_CLEAR)
        if r.read_u8(_CONFIG) != cfg:
            raise SensorError(CONFIG_REJECTED, "MAX31865 at %s did not accept its configuration" % r.describe())
        self.config = cfg

    def resistance(self, code):
        return code * self.rref / 32768

    def fault_status(self):
        return self.regs.read_u8(_FAULT)

    def clear_faults(self):
        self.regs.write_u8(_CONFIG, (self.config & ~(_ONE_SHOT | 0x0C)) | _FAULT_CLEAR)

    def fault_cycle(self, sleep_ms=None):
        """The automatic fault-detection cycle (bias on, conversions off); returns fault names."""
        wait = sleep_ms or default_sleep_ms
        r = self.regs
        base = self.config & (_3WIRE | _50HZ)
        r.write_u8(_CONFIG, _VBIAS | base)
        wait(1)
        r.write_u8(_CONFIG, _VBIAS | base | _FD_AUTO)
        for _ in range(10):
            wait(1)
            if not r.read_u8(_CONFIG) & 0x0C:
                break
        names = decode_faults(self.fault_status())
        self.clear_faults()
        r.write_u8(_CONFIG, self.config)
        return names

    def read_c(self):
        """Latest conversion in C. A set fault bit reads the fault status, clears it, and raises
        SensorError rtd_fault naming the faults; .health and .faults say the same."""
        what = "%s at %s" % (self.NAME, self.regs.describe())
        try:
            w = self._r16(_RTD_MSB)
            if w == 0xFFFF and self.regs.read_u8(_CONFIG) == 0xFF:
                # an open element also reads full scale, but the configuration never reads 0xFF
                # (1-shot and fault-clear read 0): this is MISO stuck high / no chip
                self.health = ABSENT
                raise SensorError(ABSENT, "%s: all registers read 0xff (MISO stuck high)" % what)
            if w & 1:
                self.faults = decode_faults(self.fault_status()) or ["unknown"]
                self.clear_faults()
                self.health = RTD_FAULT
                raise SensorError(RTD_FAULT, ", ".join(self.faults))
        except SensorError:
            raise
        except OSError as e:
            err = from_bus(e, what)
            self.health = name_of(err)
            raise err
        code = w >> 1
        if code == 0:
            self.health = NOT_READY
            raise SensorError(NOT_READY, "MAX31865: no conversion finished yet")
        self.faults = []
        self.health = "ok"
        return cvd_temperature(self.resistance(code), self.r0)

