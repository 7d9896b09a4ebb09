# Streaming envelope and HF features through the IIS3DWB emulator (tests/test_stream_features.py).
import array
import gc

import micropython
from harness import main
from sensorkit import accel, mk

SPEC = "iis3dwb@spi1:5"


def _run(b, fcfg, scfg, windows=1, axes=3, range_g=8):
    from features.stream import StreamFeatures
    from window.stream import Streamer
    a = accel(b, "iis3dwb")
    a.configure(range_g=range_g, watermark=128)
    f = StreamFeatures(a.rate, a.scale, cfg=scfg, axes=axes, fcfg=fcfg)
    s = Streamer(a, b.clock, irq=b.int_pin())
    out = []
    for w in range(windows):
        s.start()
        f.reset()
        sink = f.feed
        while not f.full():
            s.step(sink)
        f.finish()
        out.append({"res": [f.result(i) for i in range(axes)], "env": [f.envelope(i) for i in range(axes)]})
    return out, f, s


def replay(args):
    rec = {"path": args["path"], "rate_hz": args["rate"], "scale_g": args.get("scale", 0.0005), "loop": True}
    b = mk([SPEC], {"recording": rec})
    out, f, s = _run(b, args.get("features") or {}, args.get("stream") or {}, args.get("windows", 1), axes=1,
                     range_g=args.get("range_g", 8))
    sx, df, g = f.spectrum_u16(0)
    if args.get("dump"):
        out[-1]["env_buf"] = list(f.env[0])
    return {"windows": out, "status": f.status(), "lost": s.lost, "samples": s.samples,
            "export": [list(sx), df, g], "impl": f.eng.impl}


def twins(args):
    """The viper kernel and its plain twin on the same blocks: every buffer and state equal."""
    from features import streamk, stream_ref
    from features.stream import StreamFeatures
    import random
    random.seed(args.get("seed", 1))
    f = StreamFeatures(26667, 0.000244, cfg={"n": 256}, axes=3)
    n = 256
    sets = []
    for kern in (streamk.block, stream_ref.block):
        s16 = [array.array("h", bytes(20)) for _ in range(3)]
        s32 = [array.array("i", bytes(96)) for _ in range(3)]
        env = [array.array("h", bytes(2 * n)) for _ in range(3)]
        vel = [array.array("h", bytes(2 * n)) for _ in range(3)]
        for ax in range(3):
            s32[ax][10] = 100 * ax
            s32[ax][11] = 7
            s32[ax][19] = 32767
            s32[ax][20] = -32768
            s32[ax][22] = -8
        random.seed(args.get("seed", 1))
        blk = array.array("h", bytes(6 * 128))
        stops = []
        for j in range(40):
            k = 1 + random.getrandbits(7)
            for i in range(3 * k):
                big = random.getrandbits(4) == 0
                blk[i] = random.getrandbits(16) - 32768 if big else random.getrandbits(11) - 1024
            for ax in range(3):
                i = 0
                while i < k and s32[ax][22] < n:
                    i = kern(blk, i, k, ax, f.c, s16[ax], s32[ax], env[ax], vel[ax], n)
                stops.append(i)
        sets.append([[list(a) for a in s16], [list(a) for a in s32], [list(a) for a in env], [list(a) for a in vel],
                     stops])
    return {"viper": sets[0], "python": sets[1]}


def no_alloc(args):
    from features.stream import StreamFeatures
    from window.stream import Streamer
    b = mk([SPEC], {"noise_g": 0.05, "bearing": {"resonance_hz": 4000}})
    a = accel(b, "iis3dwb")
    a.configure(range_g=8, watermark=128)
    f = StreamFeatures(a.rate, a.scale, axes=3)
    s = Streamer(a, b.clock, irq=b.int_pin())
    s.start()
    f.reset()
    sink = f.feed  # (a bound method is made once: f.feed in the loop would make one per call)
    for _ in range(20):
        s.step(sink)  # (the first block tunes the moments: allocation allowed there)
    gc.collect()
    micropython.heap_lock()
    try:
        for _ in range(100):
            s.step(sink)
        ok = True
    except MemoryError:
        ok = False
    micropython.heap_unlock()
    return {"heap_locked_ok": ok, "samples": s.samples}


class _Health:
    def __init__(self):
        self.errors = {}

    def set_error(self, k, m):
        self.errors[k] = m

    def clear_error(self, k):
        self.errors.pop(k, None)


class _Sense:
    def __init__(self, h):
        self.health = h
        self.windows_dropped = 0


def wide(args):
    """The wide-band node's measurement (vibenode/wideband.py) on the emulator: the band in use
    (found from the spectrum with "auto"), the streamed results, the full-rate spectrum export of x."""
    from vibenode.wideband import Wideband
    sim = args.get("sim") or {}
    if args.get("path"):
        sim = {"recording": {"path": args["path"], "rate_hz": args["rate"], "scale_g": args.get("scale", 0.0005),
                             "loop": True}}
    b = mk([SPEC], sim)
    a = accel(b, "iis3dwb")
    a.configure(range_g=args.get("range_g", 8), watermark=128)
    h = _Health()
    w = Wideband(a, b.clock, b.int_pin(), args.get("features") or {}, h)
    sense = _Sense(h)
    ok = w.measure(sense)
    band = list(w.f.env_hz)
    sx, df, g = w.spectrum_u16(0)
    blk = w.axes[0]
    return {"ok": ok, "band": band, "band_after": list(w.f.env_hz), "res": [w.result(i) for i in range(3)],
            "env": w.f.envelope(0), "spec": [list(sx), df, g], "errors": h.errors, "n": w.n,
            "lost": w.window_lost, "learned": w.learned, "block": [blk[i] for i in range(len(blk))],
            "scale": a.scale, "status": w.f.status()}


if __name__ == "__main__":
    main(globals())
