# Sensing: the accelerometer and the temperature sensor of a node, found on the board's slots
# (sensors/detect.py) with a retry backoff, the window sampler and the feature engine.
#
#   s = Sensing(cfg, board, health)       health.set_error(key, msg) / clear_error(key) / changed()
#   if s.ensure(): s.measure()            one window into s.engine (False: window dropped)
#   s.temperature()                       degC or None;  s.die_c() the accelerometer's die
#
# A missing or failing sensor is an error on status and is looked for again (1 s doubling to
# 60 s); two failed windows in a row re-detect the accelerometer.
import gc

from features.engine import FeatureEngine, clip_limits, work_buffers
from vibenode import drop
from window.sampler import Sampler, windows
from vibenode.log import log


class Sensing:
    def __init__(self, cfg, board, health, early=True):
        self.cfg = cfg
        self.board = board
        self.clock = board.clock
        self.health = health
        s = cfg["sampling"]
        self.n = s["window"]
        self.accel = self.temp = self.sampler = self.engine = None
        self.clip = None
        self.wide = None  # vibenode/wideband.py for a wide-band chip (IIS3DWB)
        self.windows_dropped = 0
        self._acc_fail = 0
        self._retry_ms = 1000
        self._next = self.clock.ticks_ms()
        self._temp_retry = 500
        self._temp_next = None
        self._early = None
        if early:  # the sensors first, then the buffers (see _early_buffers)
            self.ensure_temp()
            self._find_accel()
            gc.collect()
            self._early = self._early_buffers(s["rate"])

    def buffers(self):
        """The sampler and the feature engine for the sensor found at construction, on the
        buffers made then (else ensure() starts them once a sensor is found)."""
        if self.accel is not None:
            self._run(self.accel)

    def _early_buffers(self, rate):
        """The window and feature buffers (the node's largest blocks: 3 x 2n + 9.1 n bytes, 31 KB
        at 2048) and the feature engine, made first, while the heap is still in one piece, for
        the configured rate; ensure() takes them over once the sensor is found (made there,
        after the link, queue and sensor code, they needed ~30 KB more heap: fragments, and the
        engine's setup code on top of everything). (n, engine or its work buffers, windows)."""
        gc.collect()
        work = work_buffers(self.n)
        if getattr(self.accel, "WIDEBAND", False):  # its stream's buffers, no window (vibenode/wideband.py)
            from vibenode.wideband import buffers
            return self.n, work, buffers(self.cfg.get("features") or {}, self.n)
        try:
            eng = FeatureEngine(self.n, rate, cfg=self.cfg.get("features"), work=work)
        except Exception:  # a bad features config: ensure() reports it
            eng = None
        return self.n, (eng if eng is not None else work), windows(self.n)

    def set_window(self, n):
        """A new window length: sampler and engine are made again at the next window."""
        if n != self.n:
            self.n = n
            self.sampler = self.engine = self.accel = None
            gc.collect()

    def names(self):
        out = []
        for dev in (self.accel, self.temp):
            if dev is not None:
                out.append(dev.NAME + "@" + dev.regs.describe())
        return out

    def has_spectrum(self):
        return self.engine is not None and hasattr(self.engine, "spectrum_u16")

    # ---- accelerometer ------------------------------------------------------------------
    def ensure(self):
        """True when the accelerometer runs (found now or before); the temperature sensor too."""
        self.ensure_temp()  # (found at boot too, so the birth message names it)
        if self.accel is None and not self._find_accel():
            return False
        if self.sampler is None:
            self._run(self.accel)
        return True

    def _find_accel(self):
        clock = self.clock
        if clock.ticks_diff(clock.ticks_ms(), self._next) < 0:
            return False
        from sensors import detect
        try:
            acc = detect.find_accel(self.board, self.cfg)
            detect = None
            drop("sensors.detect")  # (loaded again for the next detection)
            s = self.cfg["sampling"]
            acc.configure(rate=s["rate"], range_g=s["range_g"])
        except OSError as e:
            drop("sensors.detect")
            self.health.set_error("accel", "no accelerometer: %s" % (e,))
            self._next = clock.ticks_add(clock.ticks_ms(), self._retry_ms)
            self._retry_ms = min(self._retry_ms * 2, 60000)
            return False
        self.accel = acc
        self._retry_ms = 1000
        self.health.clear_error("accel")
        return True

    def _run(self, acc):
        self._start(acc)
        log("sensor", "%s at %s, %d Hz, +-%d g, engine %s" % (acc.NAME, acc.regs.describe(), acc.rate, acc.range_g,
                                                            self.engine.impl))

    def _start(self, acc):
        # the window and feature buffers are the node's largest blocks: the old ones (a
        # re-detected sensor) go first, then the largest (the engine's) into the freest heap
        self.sampler = self.engine = None
        early = self._early
        self._early = None
        eng = work = win = None
        if early is not None and early[0] == self.n:
            eng, win = early[1], early[2]
            if not isinstance(eng, FeatureEngine):
                work, eng = eng, None
            elif eng.rate_hz != acc.rate:  # the chip runs at another rate: same buffers
                work, eng = eng.work(), None
        early = None
        gc.collect()
        irq = self.board.int_pin() if hasattr(self.board, "int_pin") else None
        if eng is None and work is None:
            work = work_buffers(self.n)  # the largest first, into the freest heap
        self.wide = None
        if getattr(acc, "WIDEBAND", False):  # the stream is the sampler and the engine
            from vibenode.wideband import Wideband
            self.wide = self.sampler = self.engine = Wideband(acc, self.clock, irq, self.cfg.get("features") or {},
                                                              self.health, eng.work() if eng else work, win)
            return
        if eng is None:
            try:
                eng = FeatureEngine(self.n, acc.rate, cfg=self.cfg.get("features"), work=work)
            except (ValueError, KeyError, TypeError) as e:
                gc.collect()
                self.health.set_error("features", "features config: %s (defaults used)" % (e,))
                eng = FeatureEngine(self.n, acc.rate, work=work)
        self.engine = eng
        eng = work = None
        self.sampler = Sampler(acc, self.clock, self.n, irq=irq, axes=win)
        self.clip = clip_limits(acc.range_g, acc.scale)

    def measure(self):
        """One window through the feature engine; False when it was dropped (counted, on status;
        twice in a row: the accelerometer is looked for again)."""
        if self.wide is not None:
            return self.wide.measure(self)
        smp = self.sampler
        try:
            smp.acquire()
        except OSError as e:
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
        if self.temp is not None:
            return self.temp
        if not getattr(self.board, "TEMP_SLOTS", None):
            return None
        clock = self.clock
        nxt = self._temp_next
        if nxt is not None and clock.ticks_diff(clock.ticks_ms(), nxt) < 0:
            return None
        from sensors import detect
        try:
            self.temp = detect.find_temp(self.board, self.cfg)
            detect = None
            drop("sensors.detect")
        except OSError as e:
            drop("sensors.detect")
            self.temp = None
            self._temp_retry = min(self._temp_retry * 2, 60000)
            self._temp_next = clock.ticks_add(clock.ticks_ms(), self._temp_retry)
            if (self.cfg.get("sensors") or {}).get("temp") or "absent" not in str(e)[:6]:
                self.health.set_error("temp", "no temperature sensor: %s" % (e,))
            return None
        self._temp_retry = 500
        log("sensor", "%s at %s" % (self.temp.NAME, self.temp.regs.describe()))
        self.health.clear_error("temp")
        self.health.changed()
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
            self.health.clear_error("temp")
            return c
        except OSError as e:
            name = getattr(e, "name", "")
            if name != "not_ready":
                self.health.set_error("temp", "%s: %s" % (t.NAME, e))
                if name in ("absent", "bus_timeout", "bus_error"):
                    self.temp = None  # re-detect (with backoff)
        return None
