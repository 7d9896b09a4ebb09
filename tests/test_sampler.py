"""Gap-free sampling in emulated time: 60 s at 3200 Hz without a lost sample, late consumers
counted, the measured rate, the INT1 wait, and every chip's stream."""
import os

import numpy as np
import pytest

from conftest import mpy_case

RPM = 1480.0


def test_60s_of_3200hz_adxl345_is_192000_samples_gap_free(tmp_path):
    out = str(tmp_path / "x.bin")
    r = mpy_case("sampler_cases", "gap_free_60s", {"rpm": RPM, "out": out}, timeout=170)
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
    r = mpy_case("sampler_cases", "late_consumer")
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
    r = mpy_case("sampler_cases", "rate_ppm", {"spec": spec, "ppm": ppm})
    true_mhz = r["odr"] * 1000 * (1 + ppm * 1e-6)
    assert r["ovr"] == 0 and r["samples"] == 6 * 2048
    assert abs(r["stream"] / (r["odr"] * 1000) - 1) < 0.001  # within 0.1 % of the ODR
    assert abs(r["stream"] / true_mhz - 1) < 100e-6  # and it sees the oscillator's real rate
    assert abs(r["window"] / true_mhz - 1) < 0.001  # one window: +-1 sample at each end


def test_int1_wait_reads_at_the_watermark_and_a_dead_int_line_does_not_hang():
    r = mpy_case("sampler_cases", "int1_wait")
    calls, empty, used = r["irq"]
    assert used
    assert empty <= 1  # never woke up to an empty FIFO (but for the window's first look)
    assert calls <= 1024 // 16 + 2  # one burst per watermark
    assert r["dead"] == [1024, 0]  # falls back to the ODR schedule


def test_mpu6050_has_no_watermark_interrupt_and_is_polled():
    r = mpy_case("sampler_cases", "mpu6050_polled")
    assert r == {"irq": False, "n": 1024, "ovr": 0}


def test_mpu6050_overflow_breaks_framing_and_is_reset_and_counted():
    r = mpy_case("sampler_cases", "mpu6050_overflow")
    assert r["count"] == 1024  # the FIFO is full of bytes; 1024 is not a multiple of 6
    assert r["ovr"] == 1 and r["lost"] >= 200
    assert r["z"] == [16384, 16384]  # the window after the reset is framed right (1 g on z)


def test_acquiring_windows_allocates_nothing():
    r = mpy_case("sampler_cases", "no_allocation")
    for spec, ok, delta, windows, ovr in r:
        assert ok == 1 and delta == 0, spec
        assert windows == 7 and ovr == 0
