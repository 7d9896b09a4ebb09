# The host board's `machine` module.
#
# The unix port's built-in `machine` has no I2C, SPI, Pin, WDT or RTC. This module, earlier on
# the module path, takes its place. Buses are virtual: board.py attaches register-level chip
# emulators to them, and drivers talk to those exactly as they would to silicon (same method
# names and error behaviour as the ESP32 port: OSError ENODEV on NACK, ETIMEDOUT on a stuck bus).
import errno
import sys

_clock = None  # set by board.py (SimClock)
_reset_cause = 1
_resets = []

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_i2c_buses = {}
_spi_buses = {}
_pins = {}


class ResetRequested(Exception):
    """machine.reset() on the host: unwinds to the host runner, which reboots the node."""

    def __init__(self, cause):
        super().__init__(cause)  # (MicroPython has no Exception.__init__ to call directly)
        self.cause = cause


def reset():
    raise ResetRequested(HARD_RESET)


# ---- deep sleep and RTC memory -----------------------------------------------------------
# The chip's RTC keeps its slow memory and the time through deep sleep (the memory through every
# reset but power-on). Here: module state, written through to RTC_FILE in the node's filesystem
# (the working directory), so the node boots with reset cause DEEPSLEEP_RESET and the memory kept
# whether hostboot's loop boots it again in this process or a new process starts on that
# directory. Emulated time (board realtime false) moves on by the sleep without waiting.
RTC_FILE = "rtc.json"
_rtc_mem = b""
_wake_us = None  # epoch microseconds at the wake from deep sleep (the RTC's clock)


def _rtc_save(sleeping):
    import json
    try:
        with open(RTC_FILE, "w") as f:
            f.write(json.dumps({"sleeping": sleeping, "wake_us": _wake_us, "mem": _rtc_mem.hex()}))
    except OSError:
        pass


def _rtc_load():
    """A new process on a node directory whose node went to deep sleep wakes from it (once)."""
    global _rtc_mem, _wake_us, _reset_cause
    import json
    try:
        with open(RTC_FILE) as f:
            st = json.loads(f.read())
    except (OSError, ValueError):
        return
    if st.get("sleeping"):
        _reset_cause = DEEPSLEEP_RESET
        _rtc_mem = bytes.fromhex(st.get("mem", ""))
        _wake_us = st.get("wake_us")
        _rtc_save(False)  # killed while awake, the next start is a power-on


def deepsleep(ms=None):
    """Ends the boot like the chip's deep sleep: ResetRequested(DEEPSLEEP_RESET) unwinds to
    hostboot; the RTC's time moves on by ms (a realtime board really waits)."""
    global _wake_us
    ms = ms or 0
    c = _clock
    if c is not None:
        if c.realtime:
            c.sleep_ms(ms)
        _wake_us = (c.epoch_offset * 1000000 + c.now_us()) + (0 if c.realtime else ms * 1000)
    _rtc_save(True)
    raise ResetRequested(DEEPSLEEP_RESET)


def rtc_wake_s():
    """UTC seconds the RTC kept through a deep sleep (None unless this boot woke from one)."""
    if _reset_cause != DEEPSLEEP_RESET or _wake_us is None:
        return None
    _rtc_save(False)  # awake now: a process killed from here on starts at power-on
    return _wake_us // 1000000  # (whole seconds, like the RTC's time() after a wake)


def soft_reset():
    raise ResetRequested(SOFT_RESET)


def reset_cause():
    return _reset_cause


def unique_id():
    return b"\x24\x6f\x28\x00\x00\x01"


def freq(f=None):
    return 240000000


def idle():
    pass


def lightsleep(ms=None):
    if ms and _clock:
        _clock.sleep_ms(ms)


def disable_irq():
    return 0


def enable_irq(state=0):
    pass


# ---- Pin ---------------------------------------------------------------------------------
class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self._v = 1 if value is None else (1 if value else 0)
        self._listeners = []
        self._irq = None
        self._trigger = 0
        old = _pins.get(id)
        if old is not None:
            self._listeners = old._listeners
            self._v = old._v if value is None else self._v
        _pins[id] = self

    def init(self, mode=-1, pull=-1, value=None):
        if value is not None:
            self.value(value)

    def value(self, v=None):
        if v is None:
            return self._v
        v = 1 if v else 0
        if v != self._v:
            self._v = v
            for cb in self._listeners:
                cb(v)
            irq = self._irq
            if irq is not None:
                if (v and self._trigger & Pin.IRQ_RISING) or (not v and self._trigger & Pin.IRQ_FALLING):
                    irq(self)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3):
        self._irq = handler
        self._trigger = trigger

    def _listen(self, cb):
        self._listeners.append(cb)


def pin(id):
    """Host helper: the shared Pin object for a pin number (emulators drive INT pins)."""
    p = _pins.get(id)
    if p is None:
        p = Pin(id)
    return p


# ---- I2C ---------------------------------------------------------------------------------
class VirtualI2CBus:
    """The wires: targets by 7-bit address, plus fault injection for the whole bus."""

    def __init__(self, name):
        self.name = name
        self.targets = {}
        self.stuck = False  # SDA held low: every transaction times out
        self.transactions = 0
        self.trace = None  # a list to record (op, addr, reg, bytes) for byte-exact tests

    def attach(self, addr, target):
        self.targets[addr] = target

    def detach(self, addr):
        self.targets.pop(addr, None)

    def _target(self, addr):
        self.transactions += 1
        if self.stuck:
            raise OSError(errno.ETIMEDOUT)
        t = self.targets.get(addr)
        if t is None or not t.present:
            raise OSError(errno.ENODEV)
        return t


class I2C:
    def __init__(self, id=0, *, scl=None, sda=None, freq=400000, timeout=50000):
        bus = _i2c_buses.get(id)
        if bus is None:
            raise ValueError("I2C(%s) doesn't exist" % (id,))
        self.bus = bus
        self.freq = freq

    def scan(self):
        if self.bus.stuck:
            return []
        return sorted(a for a, t in self.bus.targets.items() if t.present)

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        t = self.bus._target(addr)
        t.i2c_read(memaddr, buf)
        if self.bus.trace is not None:
            self.bus.trace.append(("r", addr, memaddr, bytes(buf)))

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        t = self.bus._target(addr)
        if self.bus.trace is not None:
            self.bus.trace.append(("w", addr, memaddr, bytes(buf)))
        t.i2c_write(memaddr, buf)

    def readfrom_into(self, addr, buf, stop=True):
        t = self.bus._target(addr)
        t.i2c_read(None, buf)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def writeto(self, addr, buf, stop=True):
        t = self.bus._target(addr)
        if len(buf) == 0:
            return 1
        t.i2c_write(buf[0], memoryview(buf)[1:])
        return len(buf)


SoftI2C = I2C


# ---- SPI ---------------------------------------------------------------------------------
class VirtualSPIBus:
    """SPI wires: targets selected by their chip-select pin (active low)."""

    def __init__(self, name):
        self.name = name
        self.targets = {}  # cs pin id -> target
        self.selected = None
        self.stuck = False  # MISO stuck: reads return 0xFF
        self.trace = None

    def attach(self, cs_id, target):
        self.targets[cs_id] = target
        p = pin(cs_id)
        p._v = 1

        def on_cs(v, cs_id=cs_id):
            t = self.targets.get(cs_id)
            if t is None:
                return
            if v == 0:
                self.selected = t
                t.spi_select()
            else:
                if self.selected is t:
                    self.selected = None
                t.spi_deselect()

        p._listen(on_cs)


class SPI:
    MSB = 0
    LSB = 1
    CONTROLLER = 0

    def __init__(self, id=1, baudrate=1000000, *, polarity=0, phase=0, bits=8, firstbit=0,
                 sck=None, mosi=None, miso=None):
        bus = _spi_buses.get(id)
        if bus is None:
            raise ValueError("SPI(%s) doesn't exist" % (id,))
        self.bus = bus
        self.init(baudrate=baudrate, polarity=polarity, phase=phase)

    def init(self, baudrate=1000000, *, polarity=0, phase=0, bits=8, firstbit=0, **kw):
        self.baudrate = baudrate
        self.polarity = polarity
        self.phase = phase

    def deinit(self):
        pass

    def _xfer(self, wbuf, rbuf, n):
        t = self.bus.selected
        for i in range(n):
            w = wbuf[i] if wbuf is not None else 0
            if t is None or self.bus.stuck or not t.present:
                r = 0xFF
            else:
                r = t.spi_byte(w, self.polarity, self.phase)
            if rbuf is not None:
                rbuf[i] = r

    def write(self, buf):
        self._xfer(buf, None, len(buf))
        if self.bus.trace is not None:
            self.bus.trace.append(("w", bytes(buf)))

    def read(self, nbytes, write=0):
        buf = bytearray(nbytes)
        self.readinto(buf, write)
        return bytes(buf)

    def readinto(self, buf, write=0):
        t = self.bus.selected
        n = len(buf)
        if t is not None and not self.bus.stuck and t.present and hasattr(t, "spi_read_burst"):
            t.spi_read_burst(buf, n, self.polarity, self.phase)
        else:
            for i in range(n):
                buf[i] = 0xFF if (t is None or self.bus.stuck or not t.present) else t.spi_byte(write, self.polarity, self.phase)
        if self.bus.trace is not None:
            self.bus.trace.append(("r", bytes(buf)))

    def write_readinto(self, wbuf, rbuf):
        self._xfer(wbuf, rbuf, len(wbuf))
        if self.bus.trace is not None:
            self.bus.trace.append(("x", bytes(wbuf), bytes(rbuf)))


SoftSPI = SPI


# ---- WDT, RTC, Timer ---------------------------------------------------------------------
class WDT:
    """Watchdog stand-in: the host runner checks `expired()` and resets the node like a chip."""

    instance = None

    def __init__(self, id=0, timeout=5000):
        self.timeout = timeout
        self.fed_ms = _clock.ticks_ms() if _clock else 0
        self.feeds = 0
        WDT.instance = self

    def feed(self):
        self.feeds += 1
        self.fed_ms = _clock.ticks_ms() if _clock else 0

    def expired(self):
        if _clock is None:
            return False
        return _clock.ticks_diff(_clock.ticks_ms(), self.fed_ms) > self.timeout


class RTC:
    def __init__(self, id=0):
        pass

    def memory(self, data=None):
        """RTC slow memory (2 KB on the ESP32; longer data raises ValueError as there)."""
        global _rtc_mem
        if data is None:
            return _rtc_mem
        if len(data) > 2048:
            raise ValueError("buffer too long")
        _rtc_mem = bytes(data)

    def datetime(self, dt=None):
        import time
        if dt is None:
            t = _clock.time() if _clock else 0
            y, mo, d, h, mi, s, wd, yd = time.gmtime(t)
            return (y, mo, d, wd, h, mi, s, 0)
        y, mo, d, wd, h, mi, s, sub = dt
        t = time.mktime((y, mo, d, h, mi, s, 0, 0))
        if _clock:
            _clock.epoch_offset = t - _clock.now_us() // 1000000

    def init(self, dt):
        self.datetime(dt)


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        pass

    def init(self, **kw):
        pass

    def deinit(self):
        pass


_rtc_load()
