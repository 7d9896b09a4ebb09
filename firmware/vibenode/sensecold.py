# Sensing's rarely run code (vibenode/sensing.py calls it through Sensing._cold: loaded for the
# call and dropped after, since imported .mpy code sits in the heap): sensor detection with its
# backoff, the start of the sampler and the feature engine, the buffers made at boot.
import gc

from features.engine import FeatureEngine, clip_limits
from features.setup import work_buffers
from vibenode import drop
from vibenode.log import log


def boot(s):
    """Sensing.__init__ with early buffers: the sensors first, then the buffers."""
    find_temp(s)
    if s._due(s._next):
        find_accel(s)
    gc.collect()
    s._early = early_buffers(s, s.cfg["sampling"]["rate"])
    if s.accel is not None:
        start(s, s.accel)  # (now: this code is loaded once, before the rest of the node fragments the heap)


def early_buffers(s, rate):
    """The window and feature buffers (the node's largest blocks: 3 x 2n + 9.1 n bytes, 31 KB
    at 2048) and the feature engine, made first, while the heap is still in one piece, for
    the configured rate; ensure() takes them over once the sensor is found (made there,
    after the link, queue and sensor code, they needed ~30 KB more heap: fragments, and the
    engine's setup code on top of everything). (n, engine or its work buffers, windows)."""
    gc.collect()
    if getattr(s.accel, "WIDEBAND", False):  # its stream's buffers, no window (vibenode/wideband.py)
        from vibenode import wideblock
        try:
            return s.n, work_buffers(s.n, power=False), wideblock.buffers(s.cfg.get("features") or {}, s.n)
        finally:
            wideblock = None
            drop("vibenode.wideblock")
    work = work_buffers(s.n)
    try:
        eng = FeatureEngine(s.n, rate, cfg=s.cfg.get("features"), work=work, spectra=False)
    except Exception:  # a bad features config: ensure() reports it
        eng = None
    from window.sampler import windows  # (here: a wide-band node never loads the window sampler)
    return s.n, (eng if eng is not None else work), windows(s.n)


def _detect(s, fn):
    """detect.fn(board, cfg): the sensor, or the OSError (MemoryError: no heap for the
    detection code now, a failed attempt too) with the detection code dropped again."""
    try:
        from sensors import detect
        return getattr(detect, fn)(s.board, s.cfg)
    except (OSError, MemoryError) as e:
        return e
    finally:
        detect = None
        drop("sensors.detect")  # (loaded again for the next detection)
        gc.collect()


def find_accel(s):
    clock = s.clock
    acc = _detect(s, "find_accel")
    if not isinstance(acc, Exception):
        try:
            c = s.cfg["sampling"]
            acc.configure(rate=c["rate"], range_g=c["range_g"])
        except OSError as e:
            acc = e
    if isinstance(acc, Exception):
        s.health.set_error("accel", "no accelerometer: %s" % (acc,))
        s._next = clock.ticks_add(clock.ticks_ms(), s._retry_ms)
        s._retry_ms = min(s._retry_ms * 2, 60000)
        return False
    s.accel = acc
    s._retry_ms = 1000
    s.health.clear_error("accel")
    return True


def find_temp(s):
    """The temperature sensor (board TEMP_SLOTS), looked for again with a backoff (500 ms doubling
    to 60 s) when the config names one or one was found before; one that is neither named nor
    answered at boot (nothing on any slot) is not fitted: not looked for again."""
    if not getattr(s.board, "TEMP_SLOTS", None):
        s._temp_next = False  # a board without temperature slots has none (and no error)
        return None
    t = _detect(s, "find_temp")
    if isinstance(t, Exception):
        s.temp = None
        named = (s.cfg.get("sensors") or {}).get("temp")
        if not named and not s._temp_retry and getattr(t, "silent", False):
            s._temp_next = False  # none fitted: no detection code loaded at every backoff
            return None
        s._temp_retry = min(max(s._temp_retry, 500) * 2, 60000)
        clock = s.clock
        s._temp_next = clock.ticks_add(clock.ticks_ms(), s._temp_retry)
        if named or "absent" not in str(t)[:6]:
            s.health.set_error("temp", "no temperature sensor: %s" % (t,))
        return None
    s.temp = t
    s._temp_retry = 500
    s._temp_next = None  # (gone later: looked for again at once)
    log("sensor", "%s at %s" % (t.NAME, t.regs.describe()))
    s.health.clear_error("temp")
    s.health.changed()
    return t


def start(s, acc):
    """The sampler and the feature engine for `acc`: the window and feature buffers are the
    node's largest blocks: the old ones (a re-detected sensor) go first, then the largest (the
    engine's) into the freest heap."""
    s.sampler = s.engine = None
    early = s._early
    s._early = None
    eng = work = win = None
    if early is not None and early[0] == s.n:
        eng, win = early[1], early[2]
        if not isinstance(eng, FeatureEngine):
            work, eng = eng, None
        elif eng.rate_hz != acc.rate:  # the chip runs at another rate: same buffers
            work, eng = eng.work(), None
    early = None
    gc.collect()
    board = s.board
    irq = board.int_pin() if hasattr(board, "int_pin") else None
    wide = getattr(acc, "WIDEBAND", False)
    if not wide and work is not None and type(work[1]) is memoryview:
        work = None  # (a wide-band chip's, power spectrum in place: no envelope could run on them)
    if eng is None and work is None:
        work = work_buffers(s.n, power=not wide)  # the largest first, into the freest heap
    s.wide = None
    if wide:  # the stream is the sampler and the engine
        from vibenode.wideband import Wideband
        s.wide = s.sampler = s.engine = Wideband(acc, s.clock, irq, s.cfg.get("features") or {}, s.health,
                                                 eng.work() if eng else work, win)
        log("sensor", "%s at %s, %d Hz, +-%d g, stream %s" % (acc.NAME, acc.regs.describe(), acc.rate, acc.range_g,
                                                            s.engine.impl))
        return
    if eng is None:
        try:
            eng = FeatureEngine(s.n, acc.rate, cfg=s.cfg.get("features"), work=work, spectra=False)
        except (ValueError, KeyError, TypeError) as e:
            gc.collect()
            s.health.set_error("features", "features config: %s (defaults used)" % (e,))
            eng = FeatureEngine(s.n, acc.rate, work=work, spectra=False)
    s.engine = eng
    eng = work = None
    from features import result  # noqa: F401  (each window's result(): loaded now, into a heap still in one piece)
    from window.sampler import Sampler
    s.sampler = Sampler(acc, s.clock, s.n, irq=irq, axes=win)
    s.clip = clip_limits(acc.range_g, acc.scale)
    log("sensor", "%s at %s, %d Hz, +-%d g, engine %s" % (acc.NAME, acc.regs.describe(), acc.rate, acc.range_g,
                                                        s.engine.impl))
