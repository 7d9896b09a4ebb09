"""Gap-free sampling in emulated time: 60 s at 3200 Hz without a lost sample, late consumers
counted, the measured rate, the INT1 wait, and every chip's stream."""
import os

import numpy as np
import pytest

from conftest import mpy_result
from sensors_mpy import PRE

RPM = 1480.0


def test_60s_of_3200hz_adxl345_is_192000_samples_gap_free(tmp_path):
    out = str(tmp_path / "x.bin")
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
b = mk(["adxl345@spi1:5"], {"noise_g": 0.0, "rpm": %r, "imbalance_g": [1.0, 0.0, 0.0],
                            "gravity_g": [0.0, 0.0, 1.0]})
a = accel(b, "adxl345")
a.configure(3200, 16)
emu = b.chips["adxl345@spi1:5"]
s = Sampler(a, b.clock, 1600, irq=b.int_pin())
t0 = b.clock.now_us()
f = open(%r, "wb")
zmin = 99999
zmax = -99999
for i in range(120):
    s.acquire(restart=False)   # back to back from the first sample the chip produced
    f.write(s.axes[0])
    zmin = min(zmin, min(s.axes[2]))
    zmax = max(zmax, max(s.axes[2]))
f.close()
t1 = b.clock.now_us()
result({"samples": s.samples, "windows": s.windows, "overruns": s.overruns, "lost": s.lost,
        "emu_lost": emu.overruns, "produced": emu.produced, "pending": a.fifo_level(),
        "elapsed_us": t1 - t0, "stream_mhz": s.stream_rate_mhz, "window_mhz": s.rate_measured_mhz,
        "z": [zmin, zmax], "empty_polls": s.empty_polls})
''' % (RPM, out), timeout=170)
    assert r["samples"] == 192000 and r["windows"] == 120
    assert r["overruns"] == 0 and r["lost"] == 0 and r["emu_lost"] == 0
    assert r["produced"] - r["pending"] == 192000  # every sample the chip made was read, in order
    assert abs(r["elapsed_us"] - 60e6) < 20000  # it took 60 s of (emulated) time
    assert abs(r["stream_mhz"] / 3200000 - 1) < 0.001  # measured rate within 0.1 % of the ODR
    assert abs(r["window_mhz"] / 3200000 - 1) < 0.001
    assert r["z"] == [256, 256]  # gravity: 1 g / 3.9 mg
    # gap-free: the x axis is a 1 g sine at the shaft speed; any missing or repeated sample
    # shifts the phase of everything after it (24.7 Hz at 3200 Hz: 0.048 rad per sample)
    x = np.fromfile(out, dtype="<i2").astype(float)
    assert len(x) == 192000
    k = np.arange(192000)
    ref = np.sin(2 * np.pi * (RPM / 60.0) * k / 3200.0) / 0.0039
    err = np.abs(x - ref)
    assert err.max() < 2.0, (err.argmax(), err.max())


def test_late_consumer_overruns_are_counted_and_estimated():
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
b = mk(["adxl345@spi1:5"])
a = accel(b, "adxl345")
a.configure(3200, 16)
emu = b.chips["adxl345@spi1:5"]
s = Sampler(a, b.clock, 512)
s.acquire()
first = [s.window_overrun, s.overruns]
lost0 = emu.overruns
b.clock.sleep_ms(50)        # the consumer is 50 ms late: the 33-deep FIFO holds 10 ms
s.acquire(restart=False)
late = [s.window_overrun, s.overruns, s.window_lost, emu.overruns - lost0]
s.acquire(restart=False)    # on time again
again = [s.window_overrun, s.overruns]
result({"first": first, "late": late, "again": again, "fifo_ovr": a.overruns})
''')
    assert r["first"] == [False, 0]
    ovr, count, est, truth = r["late"]
    assert ovr is True and count == 1
    assert truth == 160 - 33  # 50 ms x 3200 Hz, minus what the FIFO (32 + output stage) kept
    assert abs(est - truth) <= 2  # the sampler's estimate from time and counts
    assert r["again"] == [False, 1]
    assert r["fifo_ovr"] >= 1


@pytest.mark.parametrize("spec,ppm", [("adxl345@spi1:5", 400), ("lis3dh@spi1:5", -300), ("mpu6050@i2c0:0x68", 150),
                                      ("adxl355@spi1:5", -700), ("lis3dh@i2c0:0x19", 0)])
def test_measured_rate_tracks_the_chip_oscillator(spec, ppm):
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
spec = %r
b = mk([spec])
emu = b.chips[spec]
emu.rate_ppm = %d
a = accel(b, spec.split("@")[0])
a.configure(a.MAX_RATE, 8)
s = Sampler(a, b.clock, 2048, irq=b.int_pin())
for i in range(6):
    s.acquire(restart=(i == 0))
result({"odr": a.rate, "stream": s.stream_rate_mhz, "window": s.rate_measured_mhz, "ovr": s.overruns,
        "samples": s.samples, "emu": emu.produced})
''' % (spec, ppm))
    true_mhz = r["odr"] * 1000 * (1 + ppm * 1e-6)
    assert r["ovr"] == 0 and r["samples"] == 6 * 2048
    assert abs(r["stream"] / (r["odr"] * 1000) - 1) < 0.001  # within 0.1 % of the ODR
    assert abs(r["stream"] / true_mhz - 1) < 100e-6  # and it sees the oscillator's real rate
    assert abs(r["window"] / true_mhz - 1) < 0.001  # one window: +-1 sample at each end


def test_int1_wait_reads_at_the_watermark_and_a_dead_int_line_does_not_hang():
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
import machine
b = mk(["adxl345@spi1:5"])
a = accel(b, "adxl345")
a.configure(3200, 16)
calls = [0]
orig = a.read_fifo
def counting(buf, n, offset=0):
    calls[0] += 1
    return orig(buf, n, offset)
a.read_fifo = counting
s = Sampler(a, b.clock, 1024, irq=b.int_pin())
s.acquire()
calls[0] = 0
e0 = s.empty_polls
s.acquire(restart=False)
irq = [calls[0], s.empty_polls - e0, s.irq is not None]
dead = machine.Pin(33)       # a wire that is never driven: low forever
dead.value(0)
s2 = Sampler(a, b.clock, 1024, irq=dead)
s2.acquire()
result({"irq": irq, "dead": [s2.samples, s2.overruns]})
''')
    calls, empty, used = r["irq"]
    assert used
    assert empty <= 1  # never woke up to an empty FIFO (but for the window's first look)
    assert calls <= 1024 // 16 + 2  # one burst per watermark
    assert r["dead"] == [1024, 0]  # falls back to the ODR schedule


def test_mpu6050_has_no_watermark_interrupt_and_is_polled():
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
b = mk(["mpu6050@i2c0:0x68"])
a = accel(b, "mpu6050")
a.configure(1000, 8)
s = Sampler(a, b.clock, 1024, irq=b.int_pin())
s.acquire()
result({"irq": s.irq is not None, "n": s.samples, "ovr": s.overruns})
''')
    assert r == {"irq": False, "n": 1024, "ovr": 0}


def test_mpu6050_overflow_breaks_framing_and_is_reset_and_counted():
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
b = mk(["mpu6050@i2c0:0x68"])
a = accel(b, "mpu6050")
a.configure(1000, 2)
emu = b.chips["mpu6050@i2c0:0x68"]
s = Sampler(a, b.clock, 256)
s.acquire()
b.clock.sleep_ms(400)          # 400 samples into a 170-sample FIFO
count = emu.count
s.acquire(restart=False)
z = list(s.axes[2])
result({"count": count, "ovr": s.overruns, "lost": s.window_lost, "z": [min(z), max(z)]})
''')
    assert r["count"] == 1024  # the FIFO is full of bytes; 1024 is not a multiple of 6
    assert r["ovr"] == 1 and r["lost"] >= 200
    assert r["z"] == [16384, 16384]  # the window after the reset is framed right (1 g on z)


def test_acquiring_windows_allocates_nothing():
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
res = []
ok = 0
for spec in ("adxl345@spi1:5", "lis3dh@i2c0:0x18", "mpu6050@i2c0:0x68", "adxl355@spi1:5"):
    b = mk([spec], {"noise_g": 0.01, "imbalance_g": [1.0, 0.3, 0.1]})
    a = accel(b, spec.split("@")[0])
    a.configure(4000, 8)
    s = Sampler(a, b.clock, 1024, irq=b.int_pin())
    s.acquire()
    s.acquire(restart=False)
    gc.collect()
    m0 = gc.mem_alloc()
    micropython.heap_lock()
    try:
        for i in range(5):
            s.acquire(restart=False)
        ok = 1
    except MemoryError:
        ok = 0
    micropython.heap_unlock()
    res.append([spec, ok, gc.mem_alloc() - m0, s.windows, s.overruns])
result(res)
''')
    for spec, ok, delta, windows, ovr in r:
        assert ok == 1 and delta == 0, spec
        assert windows == 7 and ovr == 0
