# Wide-band accelerometers (IIS3DWB, 26.667 kHz): after each window, one envelope window streamed
# block by block (window/stream.py -> features/stream.py; nothing stores the full-rate signal),
# whose results take the place of the window's rms/pk/cf/sk/ku/hf/vel/iso/env in the reading
# (1.23 s at the full rate and 0.81 Hz envelope bins instead of 77 ms and 13 Hz), plus hfpk.
# Made by sensing.py for a driver with WIDEBAND; config: features.stream (features/stream.py), and
# "axes": 1..3 streams x only, x and y, or all three (heap: ~6 KB of buffers per axis streamed).
from features.stream import StreamFeatures
from window.stream import Streamer

_WARM = 16 * 8 + 256  # samples beyond the window: the kernel's warm-up and one block


class Wideband:
    def __init__(self, acc, clock, irq, fcfg, health, work=None):
        """work: the window engine's FFT buffers (shared: used one after the other)."""
        try:
            scfg = fcfg.get("stream") or {}
            axes = scfg.get("axes", 3)
            if axes not in (1, 2, 3):
                raise ValueError("features.stream.axes: 1, 2 or 3 (x, xy, xyz), got %r" % (axes,))
            self.f = StreamFeatures(acc.rate, acc.scale, cfg=scfg, axes=axes, fcfg=fcfg, work=work)
        except (ValueError, KeyError, TypeError) as e:
            health.set_error("features", "features.stream config: %s (defaults used)" % (e,))
            self.f = StreamFeatures(acc.rate, acc.scale, axes=3, fcfg={}, work=work)
        self.s = Streamer(acc, clock, irq=irq)
        self.sink = self.f.feed  # (bound once)
        self.done = False

    def measure(self, sense):
        """One streamed window; False (counted as a dropped window) on a bus error."""
        f = self.f
        s = self.s
        self.done = False
        try:
            s.start()
            f.reset()
            s.run(f.n * 16 + _WARM, self.sink)
            if not f.full():
                raise OSError("stream ended early")
        except OSError as e:
            sense.windows_dropped += 1
            sense.health.set_error("accel", "streamed window dropped: %s" % (e,))
            return False
        f.finish()
        self.done = True
        return True

    def overlay(self, rep):
        """The streamed results into the reading's axes; stream losses as wb_lost."""
        if not self.done:
            return
        for i in range(self.f.axes):
            r = rep.get("xyz"[i])
            if r is not None:
                w = self.f.result(i)
                for k in w:
                    r[k] = w[k]
        if self.s.lost:
            rep["wb_lost"] = self.s.lost
