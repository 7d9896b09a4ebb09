# Sensing: the accelerometer and the temperature sensor of a node, found on the board's slots
# (sensors/detect.py) with a retry backoff, the window sampler and the feature engine.
#
#   s = Sensing(cfg, board, health)       health.set_error(key, msg) / clear_error(key) / changed()
#   if s.ensure(): s.measure()            one window into s.engine (False: window dropped)
#   s.temperature()                       degC or None;  s.die_c() the accelerometer's die
#
# A missing or failing sensor is an error on status and is looked for again (1 s doubling to
# 60 s); two failed windows in a row re-detect the accelerometer. A temperature sensor that the
# config does not name and nothing answered for at boot is not fitted: not looked for again (a
# configured one, or one that went away, is). Detection with its backoff and the start of sampler
# and engine are vibenode/sensecold.py, loaded when needed and dropped after; this module keeps
# what runs at every window and the error paths of a window (they must work in a full heap).
from vibenode import drop


class Sensing:
    def __init__(self, cfg, board, health, early=True):
        self.cfg = cfg
        self.board = board
        self.clock = board.clock
        self.health = health
        self.n = cfg["sampling"]["window"]
        self.accel = self.temp = self.sampler = self.engine = None
        self.clip = None
        self.wide = None  # vibenode/wideband.py for a wide-band chip (IIS3DWB)
        self.windows_dropped = 0
        self._acc_fail = 0
        self._retry_ms = 1000
        self._next = self.clock.ticks_ms()
        self._temp_retry = 0  # 0: never found (see sensecold.find_temp)
        self._temp_next = None  # when to look again (None: now; False: never, none fitted)
        self._early = None
        if early:  # the sensors first, then the buffers (see sensecold.early_buffers)
            self._cold("boot")

    def _cold(self, fn, *a):
        """vibenode/sensecold.py's fn(self, *a), loaded for the call and dropped after (False when
        there is no heap for it now: a detection or start that did not happen, tried again later)."""
        try:
            from vibenode import sensecold
            return getattr(sensecold, fn)(self, *a)
        except MemoryError:
            return False
        finally:
            sensecold = None
            drop("vibenode.sensecold")

    def buffers(self):
        """The sampler and the feature engine for the sensor found at construction, on the
        buffers made then (started there already; else ensure() starts them once a sensor is found)."""
        if self.accel is not None and self.sampler is None:
            self._cold("start", self.accel)

    def set_window(self, n):
        """A new window length: sampler and engine are made again at the next window."""
        if n != self.n:
            self.n = n
            self.sampler = self.engine = self.accel = None
            import gc
            gc.collect()

    def names(self):
        out = []
        for dev in (self.accel, self.temp):
            if dev is not None:
                out.append(dev.NAME + "@" + dev.regs.describe())
        return out

    def has_spectrum(self):
        return self.engine is not None and hasattr(self.engine, "spectrum_u16")

    def _due(self, t):
        """A detection may run now (t: its next time, None: now, False: never)."""
        if t is False:
            return False
        c = self.clock
        return t is None or c.ticks_diff(c.ticks_ms(), t) >= 0

    # ---- accelerometer ------------------------------------------------------------------
    def ensure(self):
        """True when the accelerometer runs (found now or before); the temperature sensor too."""
        self.ensure_temp()  # (found at boot too, so the birth message names it)
        if self.accel is None and not (self._due(self._next) and self._cold("find_accel")):
            return False
        if self.sampler is None:
            self._cold("start", self.accel)
        return self.sampler is not None

    def measure(self):
        """One window through the feature engine; False when it was dropped (counted, on status;
        twice in a row: the accelerometer is looked for again). A wide-band chip's stream
        (vibenode/wideband.py) is its own sampler and engine."""
        if self.wide is not None:
            return self.wide.measure(self)
        smp = self.sampler
        try:
            smp.acquire()
        except OSError as e:  # (this path stays loaded: it must work in a full heap too)
            self.windows_dropped += 1
            self._acc_fail += 1
            self.health.set_error("accel", "window dropped: %s" % (e,))
            if self._acc_fail >= 2:
                self.accel = None
                self._acc_fail = 0
            return False
        self._acc_fail = 0
        self.health.clear_error("accel")
        eng = self.engine
        scale = self.accel.scale
        lo, hi = self.clip
        for ax in range(3):
            eng.compute(ax, smp.axes[ax], scale, lo, hi)
        return True

    def env_band(self):
        """The envelope band in use, Hz (features/setup.py, features/stream.py), or None."""
        return getattr(self.wide.f if self.wide is not None else self.engine, "env_hz", None)

    def die_c(self):
        acc = self.accel
        if acc is not None and hasattr(acc, "die_temp_c"):
            try:
                return acc.die_temp_c()
            except OSError:
                pass
        return None

    # ---- temperature ----------------------------------------------------------------------
    def ensure_temp(self):
        """The temperature sensor (board TEMP_SLOTS), found with a retry backoff like the
        accelerometer; a board without temperature slots has none (and no error)."""
        if self.temp is None and self._due(self._temp_next):
            self._cold("find_temp")
        return self.temp

    def temperature(self):
        """degC from the temperature sensor, or None (errors on status; a sensor gone from the
        bus is looked for again)."""
        t = self.ensure_temp()
        if t is None:
            return None
        try:
            try:
                c = t.read_c()
            except OSError as e:
                if getattr(e, "name", "") != "not_ready":
                    raise
                self.clock.sleep_ms(getattr(t, "FIRST_MS", 150))  # first conversion under way
                c = t.read_c()
        except OSError as e:
            name = getattr(e, "name", "")
            if name != "not_ready":
                self.health.set_error("temp", "%s: %s" % (t.NAME, e))
                if name in ("absent", "bus_timeout", "bus_error"):
                    self.temp = None  # re-detect (with backoff)
            return None
        self.health.clear_error("temp")
        return c
