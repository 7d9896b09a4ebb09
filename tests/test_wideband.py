"""The IIS3DWB (26.667 kHz) driver against its register-level emulator, and gap-free streaming:
registers, FIFO of tagged words, overrun flags, watermark on INT1, bytes on the bus, SPI modes,
ranges, faults, self-test; 60 s streamed without a lost sample; late consumers counted exactly."""
import numpy as np

from conftest import mpy_case


def test_registers_read_only_reserved_and_reset():
    r = mpy_case("wideband_cases", "registers")
    assert r["who"] == 0x7B and r["ctrl3_reset"] == 0x04  # WHO_AM_I; CTRL3_C IF_INC at reset
    # WHO_AM_I and FIFO_STATUS1 ignore writes, reserved 0x11 reads 0, unused bits stay 0
    assert r["after"] == [0x7B, 0x00, 0xEE, 0x81, 0x00]
    assert r["reset"] == [0x00, 0x00, 0x04]  # SW_RESET restores the reset values


def test_fifo_watermark_on_int1_overrun_and_latched_flag():
    r = mpy_case("wideband_cases", "fifo")
    assert r["3ms"] == [80, 0x00, 0]  # 3 ms at 26.667 kHz = 80 words, below the watermark (100)
    assert r["4ms"] == [106, 0x80, 1]  # FIFO_WTM_IA and INT1 high
    level, flags, lost, produced = r["30ms"]
    assert level == 512 and produced == 800 and lost == 800 - 512  # 3 KB = 512 words, oldest overwritten
    assert flags == 0x80 | 0x40 | 0x20 | 0x08  # WTM, OVR, FULL, OVER_RUN_LATCHED
    assert r["again"] == 0x80 | 0x40 | 0x20  # the latched bit clears when read
    assert r["read"] == 512 and r["empty"] == [0, 0]


def test_fifo_reads_in_power_of_two_bursts_lose_nothing():
    at_once, one_by_one = mpy_case("wideband_cases", "bursts")
    assert at_once[0] == one_by_one[0] == 100
    assert at_once[1] == one_by_one[1]  # the same samples in the same order
    assert len(set(at_once[1][0::3])) > 50  # (a moving signal, not a constant)
    assert at_once[2] == one_by_one[2] == 20 and at_once[3] == one_by_one[3] == 0
    assert at_once[4] == 8  # views for 1, 2, 4 .. 128 words, not 129 of them


def test_fifo_words_are_the_datasheet_bytes():
    r = mpy_case("wideband_cases", "word_bytes")
    w0, w1 = r["words"]
    # gravity (0.25, -0.5, 1.0) g at +-8 g (0.244 mg/LSB): 1025, -2049, 4098, little-endian
    data = [0x01, 0x04, 0xFF, 0xF7, 0x02, 0x10]
    assert w0[1:] == data and w1[1:] == data and r["out"] == data
    assert w0[0] >> 3 == 0x02 and w1[0] >> 3 == 0x02  # TAG_SENSOR accelerometer
    assert (w0[0] >> 1) & 3 == 0 and (w1[0] >> 1) & 3 == 1  # TAG_CNT counts the slots
    for t in (w0[0], w1[0]):
        assert bin(t).count("1") % 2 == 0  # parity bit makes the tag byte even
    assert r["temp"] == [0x00, 0x0A] and r["temp_c"] == 35.0  # 256 LSB/C from 25 C
    assert r["level"] == 3  # 5 produced, 2 popped


def test_spi_mode_0_and_3_only():
    assert mpy_case("wideband_cases", "spi_modes") == {"mode0": 0x7B, "mode3": 0x7B, "mode1": 0x00}


def test_ranges_and_scale():
    r = mpy_case("wideband_cases", "ranges")
    assert [x[0] for x in r] == [2, 4, 8, 16, 4]  # 3 g rounds up to 4
    assert [x[1] for x in r] == [16393, 8197, 4098, 2049, 8197]  # 1 g on z
    for rng, z, scale in r:
        assert abs(z * scale - 1.0) < 0.002


def test_faults_absent_bit_error_self_test_dead_chip():
    r = mpy_case("wideband_cases", "faults")
    assert r["absent"] == "absent"
    got, bad, flagged, n = r["flip"]
    assert got == 1  # a flipped tag: the word is dropped
    assert n < 8 and bad == 8 - n and flagged is True  # words that were no samples: counted, flagged as loss
    ok, d = r["self_test"]
    assert ok and all(0.45 < x < 0.55 for x in d)
    assert r["dead_level"] == 0


def test_60s_streamed_at_26667_hz_gap_free(tmp_path):
    out = str(tmp_path / "s.bin")
    rpm = 1480.0
    r = mpy_case("wideband_cases", "gap_free_60s", {"rpm": rpm, "out": out, "seconds": 60}, timeout=200)
    assert r["samples"] >= 60 * 26667 and r["overruns"] == 0 and r["lost"] == 0 and r["emu_lost"] == 0
    assert r["produced"] - r["pending"] == r["samples"]  # every sample the chip made was handed on
    assert abs(r["elapsed_us"] - 60e6) < 10000
    assert abs(r["rate_mhz"] / 26667000 - 1) < 20e-6  # the achieved rate
    assert r["empty_polls"] <= 2
    xyz = np.fromfile(out, dtype="<i2").reshape(-1, 3).astype(float)
    assert len(xyz) == r["samples"]
    k = np.arange(len(xyz))
    ref = np.sin(2 * np.pi * (rpm / 60.0) * k / 26667.0) / 0.244e-3  # 1 g at the shaft rate, +-8 g
    err = np.abs(xyz[:, 0] - ref)
    # the simulator's 4096-entry sine table is good to 2 pi / 4096 x 4098 = 6.3 counts; one missing or
    # repeated sample would shift the phase by 24 counts at the zero crossings
    assert err.max() < 8.0, (err.argmax(), err.max())
    assert np.all(xyz[:, 2] == 4098)


def test_late_consumer_loss_is_counted_exactly():
    r = mpy_case("wideband_cases", "late_consumer", {"late_ms": [25, 100]})
    (ov1, lost1, emu1), (ov2, lost2, emu2) = r["steps"]
    assert ov1 == 2 and lost1 == emu1 > 0  # two late blocks, loss exactly what the chip overwrote
    assert (ov2, lost2, emu2) == (ov1, lost1, emu1)  # on time again: nothing more
    assert r["samples"] + r["pending"] + lost2 == r["produced"]
    assert abs(r["rate_mhz"] / 26667000 - 1) < 50e-6


def test_a_block_allocates_nothing():
    r = mpy_case("wideband_cases", "no_alloc")
    assert r["heap_locked_ok"] and r["samples"] > 2000 and r["lost"] == 0
