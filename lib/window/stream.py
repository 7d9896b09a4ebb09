# Streamer: gap-free acquisition of a wide-band accelerometer (IIS3DWB, 26.667 kHz), block by
# block, for processing as the samples arrive (features/stream.py) instead of into a window.
#
# At 26.7 kHz the chip's FIFO holds 19 ms. The streamer waits for the watermark (INT1 when the
# board wires it, else a timed sleep), pops the FIFO in bursts into one preallocated block
# (array('h'), x, y, z interleaved, the driver de-tags in viper) and hands each block to a sink:
#
#   s = Streamer(accel, clock, irq=board.int_pin())
#   s.start()                            # fresh FIFO, sample clock restarted: stream time 0
#   s.run(26667, sink)                   # sink(block, k): k x, y, z sets in block[:3 * k]
#   s.samples, s.overruns, s.lost, s.rate_mhz()
#
# Nothing allocates per block: times are small ints accumulated from ticks_us differences (as in
# sampler.py) and rebased into whole seconds; the sample balance `_bal` (samples due at the
# nominal rate since the start, minus samples read and samples counted lost) stays small.
# Loss: when the chip flags an overrun, the samples lost are the balance minus what is still in
# the FIFO: exact when the chip's clock matches its nominal rate (the emulator's does), off by its
# drift otherwise (50 ppm: 1.3 samples per second since start()). A sink that returns late makes
# the FIFO overrun and is counted so; it never stops the stream.
import array

from sensors.errors import NO_DATA, SensorError, from_bus
from window import due as _due, mhz as _mhz

_REBASE_US = 1 << 28


class Streamer:
    def __init__(self, accel, clock, block=None, irq=None):
        self.accel = accel
        self.clock = clock
        self.block_n = block or accel.watermark
        self.block = array.array("h", bytes(6 * self.block_n))
        self.irq = irq if (irq is not None and getattr(accel, "INT_WATERMARK", False)) else None
        self.blocks = 0
        self.samples = 0  # (a small int for 11 h at 26.7 kHz; counts only, never in arithmetic here)
        self.overruns = 0  # overrun events
        self.lost = 0  # samples lost to overruns
        self.empty_polls = 0
        self.last_error = None
        self._now = 0
        self._last = 0
        self._sec = 0  # whole seconds moved out of _now
        self._bal = 0
        self._got = 0  # samples since the last rebase (for rate_mhz)

    def _tick(self):
        c = self.clock
        t = c.ticks_us()
        self._now += c.ticks_diff(t, self._last)
        self._last = t
        if self._now > _REBASE_US:
            s = self._now // 1000000
            self._now -= s * 1000000
            self._sec += s
            self._bal += s * self.accel.rate
        return self._now

    def start(self):
        """Restart the chip's FIFO and sample clock; stream time and counts from zero."""
        self.accel.restart()
        self._last = self.clock.ticks_us()
        self._now = 0
        self._sec = 0
        self._bal = 0
        self._got = 0

    def rate_mhz(self):
        """Samples per second the chip produced since start() (read + waiting + lost), mHz."""
        t = self._tick()
        seen = self._got + self.accel.fifo_level() + self.lost
        if self._sec:
            return _mhz(seen, self._sec * 1000000 + t)  # (allocates on long streams: call rarely)
        return _mhz(seen, t) if t > 0 else 0

    def _account(self):
        """An overrun was flagged: count what the FIFO lost (see the module comment)."""
        acc = self.accel
        pending = acc.fifo_level()
        acc.overrun()  # (the read above may latch the same flag again)
        lost = self._bal + _due(self._tick(), acc.rate) - pending
        if lost < 1:
            lost = 1
        self._bal -= lost
        self.lost += lost
        self.overruns += 1

    def _wait(self, need, timed):
        clock = self.clock
        us = need * 1000000 // self.accel.rate
        if us < 50:
            us = 50
        pin = self.irq
        if pin is None or timed:
            clock.sleep_us(us)
            return
        step = us >> 2
        waited = 0
        while not pin.value() and waited < 2 * us:
            clock.sleep_us(step)
            waited += step

    def step(self, sink):
        """Read what the FIFO holds (up to one block) and hand it to sink; wait for the watermark
        first when the FIFO held no more than that. Returns the samples handed over."""
        acc = self.accel
        blk = self.block
        try:
            k = acc.read_fifo(blk, self.block_n)
            self._bal -= k
            if acc.overrun():
                self._account()
        except OSError as e:
            self.last_error = str(from_bus(e, acc.NAME))
            raise from_bus(e, acc.NAME)
        if k:
            self._got += k
            self.samples += k
            self.blocks += 1
            sink(blk, k)
        else:
            self.empty_polls += 1
        if acc.level <= k:
            self._wait(acc.watermark, k == 0)
        return k

    def run(self, n, sink):
        """Stream until n more samples have gone to sink (SensorError no_data if the chip stops)."""
        target = self.samples + n
        limit = 4 * self.accel.FIFO_DEPTH * 1000000 // self.accel.rate + 50000
        t_data = self._tick()
        while self.samples < target:
            if self.step(sink):
                t_data = self._tick()
            elif self._tick() - t_data > limit:
                raise SensorError(NO_DATA, "%s produced no sample for %d ms" % (self.accel.NAME, limit // 1000))
