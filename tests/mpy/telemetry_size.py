# The telemetry payload's size on MicroPython (tests/test_telemetry_size.py): real feature engine,
# real report.reading and report.encode, windows of noise with impulses and clipping, every optional
# field of the reading present (overrun, lost, overruns, dropped, unsync, temp_c, die_c, clipped,
# f1, env alarm), the longest node id; or ("worst": false) a reading without trouble (the demo's
# node id, a set clock, no overruns). Returns the encoded sizes and the largest payload.
import array

from features.engine import FeatureEngine
from report import reading
from report.encode import Encoder


class Window:
    """What reading.telemetry reads of a sampler: at its worst (every optional field on), or a
    window without trouble."""

    def __init__(self, n, worst):
        self.n = n
        self.rate_measured_mhz = 3198992
        self.window_overrun = worst
        self.window_lost = 99999 if worst else 0
        self.overruns = 999999 if worst else 0


def sizes(args):
    n = args["n"]
    rate = args["rate"]
    e = FeatureEngine(n, rate, args["features"])
    xs = [array.array("h", bytes(2 * n)) for _ in range(3)]
    enc = Encoder(args.get("buf", 4096))
    worst_case = args.get("worst", True)
    smp = Window(n, worst_case)
    nid = "n" * 32 if worst_case else "demo-0001"
    out = []
    worst = b""
    seed = args.get("seed", 12345)
    for w in range(args["windows"]):
        amp = 512 << (w % 6)  # from quiet to clipped
        for a in range(3):
            x = xs[a]
            for i in range(n):
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                v = ((seed >> 8) & 0xFFF) - 2048
                v = v * amp // 2048 + (12000 if i % (61 + 7 * a) == 0 else 0)
                x[i] = max(-32768, min(32767, v - (w * 997 % 300)))
            e.compute(a, x, 0.000061, -16000, 16000)
        if worst_case:  # the largest sequence number, an unset clock, 999999 windows dropped
            rep = reading.telemetry(nid, 1073741823 - w, 86400 * 300 + w, smp, e, rate, 999999)
        else:
            rep = reading.telemetry(nid, 100000 + w, 1764000000 + w, smp, e, rate, 0)
        reading.add_temperature(rep, -123.4567 - w / 7, -40.123 - w / 3)
        p = bytes(enc.encode(rep))
        out.append(len(p))
        if len(p) > len(worst):
            worst = p
    return {"sizes": out, "worst": worst.decode()}


if __name__ == "__main__":
    from harness import main
    main(globals())
