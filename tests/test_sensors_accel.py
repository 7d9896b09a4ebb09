"""Accelerometer drivers on the unix port against the register-level emulators: byte-exact bus
transactions (from the data sheets' register maps), data-sheet sensitivities, self-test, die
temperature, and no allocation in burst reads."""
import struct

import pytest

from conftest import mpy_case

I2C_W = "w"


def run_trace(spec, rate, rng, nread=4):
    return mpy_case("sensors_accel", "trace", {"spec": spec, "rate": rate, "range": rng, "nread": nread})


def i2c_w(addr, reg, val):
    return ["w", addr, reg, "%02x" % val]


def i2c_r(addr, reg, val):
    return ["r", addr, reg, "%02x" % val]


def spi_w(cmd, *data):
    return [["w", "%02x" % cmd], ["w", "".join("%02x" % d for d in data)]]


def spi_r(cmd, *data):
    return [["w", "%02x" % cmd], ["r", "".join("%02x" % d for d in data)]]


# ---- configuration: the exact register writes and read-backs each data sheet calls for ----------

def test_adxl345_i2c_configuration_bytes():
    r = run_trace("adxl345@i2c0:0x53", 3200, 16)
    A = 0x53
    assert r["cfg"] == [
        i2c_w(A, 0x2D, 0x00),  # POWER_CTL: standby while configuring
        i2c_w(A, 0x2C, 0x0F),  # BW_RATE: rate code 1111 = 3200 Hz
        i2c_w(A, 0x31, 0x0B),  # DATA_FORMAT: FULL_RES | range 11 (+-16 g)
        i2c_w(A, 0x38, 0x00),  # FIFO_CTL: bypass (empties the FIFO)
        i2c_w(A, 0x38, 0x90),  # FIFO_CTL: stream (10) | samples 16
        i2c_w(A, 0x2F, 0x00),  # INT_MAP: everything on INT1
        i2c_w(A, 0x2E, 0x03),  # INT_ENABLE: watermark | overrun
        i2c_w(A, 0x2D, 0x08),  # POWER_CTL: measure
        i2c_r(A, 0x2C, 0x0F), i2c_r(A, 0x31, 0x0B),  # read back
    ]
    assert r["rate"] == 3200 and r["range"] == 16


def test_adxl345_spi_configuration_and_burst_bytes():
    r = run_trace("adxl345@spi1:5", 800, 2)
    exp = []
    for reg, val in ((0x2D, 0), (0x2C, 0x0D), (0x31, 0x08), (0x38, 0), (0x38, 0x90), (0x2F, 0), (0x2E, 3),
                     (0x2D, 8)):
        exp += spi_w(reg, val)  # write: R/W bit 7 = 0, MB bit 6 = 0
    exp += spi_r(0x80 | 0x2C, 0x0D) + spi_r(0x80 | 0x31, 0x08)  # read: bit 7 = 1
    assert r["cfg"] == exp
    # burst: FIFO_STATUS, INT_SOURCE (its Overrun bit clears on the first FIFO read, so it is
    # latched first), then one 6-byte multi-byte read (0x80 | 0x40 | 0x32 = 0xF2) per sample
    rd = r["read"]
    assert rd[0] == ["w", "b9"] and int(rd[1][1], 16) == 4
    assert rd[2] == ["w", "b0"] and not int(rd[3][1], 16) & 0x01
    for i in range(4):
        assert rd[4 + 2 * i][0:2] == ["w", "f2"]
        raw = bytes.fromhex(rd[5 + 2 * i][1])
        assert len(raw) == 6
        assert list(struct.unpack("<3h", raw)) == r["buf"][3 * i:3 * i + 3]
    # full resolution: 3.9 mg/LSB (data sheet), so 1 g reads 256 LSB
    assert r["scale"] == pytest.approx(0.0039)
    assert r["buf"][2] == int(1.0 / 0.0039)


def test_lis3dh_i2c_configuration_and_burst_bytes():
    r = run_trace("lis3dh@i2c0:0x18", 1344, 2, nread=16)
    A = 0x18
    assert r["cfg"] == [
        i2c_w(A, 0x20, 0x07),  # CTRL_REG1: power-down, X/Y/Z enabled
        i2c_w(A, 0x1E, 0x10),  # CTRL_REG0: SDO pull-up connected (fixed pattern)
        i2c_w(A, 0x21, 0x00),  # CTRL_REG2: no high-pass
        i2c_w(A, 0x23, 0x88),  # CTRL_REG4: BDU | FS 00 (+-2 g) | HR
        i2c_w(A, 0x24, 0x40),  # CTRL_REG5: FIFO_EN
        i2c_w(A, 0x2E, 0x00),  # FIFO_CTRL_REG: bypass (empties it)
        i2c_w(A, 0x2E, 0x90),  # FIFO_CTRL_REG: stream | FTH 16
        i2c_w(A, 0x22, 0x06),  # CTRL_REG3: I1_WTM | I1_OVERRUN
        i2c_w(A, 0x20, 0x97),  # CTRL_REG1: ODR 1001 (1.344 kHz), LPen 0, XYZ
        i2c_r(A, 0x20, 0x97), i2c_r(A, 0x23, 0x88), i2c_r(A, 0x2E, 0x90),
    ]
    rd = r["read"]
    assert rd[0] == ["r", A, 0x2F, "90"]  # FIFO_SRC: WTM (level >= FTH 16) | FSS = 16
    # one transaction for all 16 samples: sub-address 0x28 | 0x80 (auto-increment), 96 bytes
    assert rd[1][:3] == ["r", A, 0xA8] and len(bytes.fromhex(rd[1][3])) == 96
    raw = bytes.fromhex(rd[1][3])
    vals = [v >> 4 for v in struct.unpack("<48h", raw)]  # 12-bit left-justified (HR)
    assert vals == r["buf"]
    assert vals[2] == 1000  # HR +-2 g: 1 mg/digit, so 1 g = 1000 digits
    assert r["scale"] == pytest.approx(0.001)


def test_lis3dh_spi_low_power_5376hz_bytes():
    r = run_trace("lis3dh@spi1:5", 5376, 16, nread=8)
    exp = []
    for reg, val in ((0x20, 0x07), (0x1E, 0x10), (0x21, 0), (0x23, 0xB0), (0x24, 0x40), (0x2E, 0), (0x2E, 0x90),
                     (0x22, 0x06), (0x20, 0x9F)):
        exp += spi_w(reg, val)
    exp += spi_r(0x80 | 0x20, 0x9F) + spi_r(0x80 | 0x23, 0xB0) + spi_r(0x80 | 0x2E, 0x90)
    assert r["cfg"] == exp  # CTRL_REG4 0xB0: BDU | FS 11 (+-16 g), HR off; CTRL_REG1 0x9F: ODR 1001 | LPen
    assert r["rate"] == 5376
    rd = r["read"]
    assert rd[2] == ["w", "e8"]  # 0x28 | read 0x80 | MS 0x40
    raw = bytes.fromhex(rd[3][1])
    assert len(raw) == 48
    vals = [v >> 8 for v in struct.unpack("<24h", raw)]  # 8-bit left-justified (low-power)
    assert vals == r["buf"]
    assert r["scale"] == pytest.approx(0.192)  # LP +-16 g: 192 mg/digit
    assert vals[2] == int(1000 / 192)


def test_mpu6050_configuration_and_fifo_bytes():
    r = run_trace("mpu6050@i2c0:0x68", 1000, 2, nread=10)
    A = 0x68
    assert r["cfg"] == [
        i2c_w(A, 0x6B, 0x01),  # PWR_MGMT_1: wake, clock = PLL with X gyro
        i2c_w(A, 0x6C, 0x07),  # PWR_MGMT_2: gyro X/Y/Z standby
        i2c_w(A, 0x1A, 0x01),  # CONFIG: DLPF_CFG 1 (accel 184 Hz, 1 kHz internal rate)
        i2c_w(A, 0x19, 0x00),  # SMPLRT_DIV 0: 1 kHz / (1 + 0)
        i2c_w(A, 0x1C, 0x00),  # ACCEL_CONFIG: AFS_SEL 0 (+-2 g)
        i2c_w(A, 0x6A, 0x00),  # USER_CTRL: FIFO off
        i2c_w(A, 0x23, 0x08),  # FIFO_EN: ACCEL_FIFO_EN
        i2c_w(A, 0x6A, 0x04),  # USER_CTRL: FIFO_RESET
        i2c_w(A, 0x6A, 0x40),  # USER_CTRL: FIFO_EN
        i2c_w(A, 0x38, 0x10),  # INT_ENABLE: FIFO_OFLOW_EN
        i2c_r(A, 0x19, 0x00), i2c_r(A, 0x1C, 0x00), i2c_r(A, 0x23, 0x08), i2c_r(A, 0x1A, 0x01),
        i2c_r(A, 0x3A, 0x00),  # INT_STATUS (clears stale flags)
    ]
    rd = r["read"]
    assert rd[0][:3] == ["r", A, 0x3A] and not int(rd[0][3], 16) & 0x10  # INT_STATUS: no FIFO_OFLOW
    count = int(rd[1][3], 16)
    assert rd[1][:3] == ["r", A, 0x72] and count == 60  # FIFO_COUNT in bytes: 10 samples x 6
    assert rd[2][:3] == ["r", A, 0x74] and len(bytes.fromhex(rd[2][3])) == 60  # burst from FIFO_R_W
    vals = list(struct.unpack(">30h", bytes.fromhex(rd[2][3])))
    assert vals == r["buf"]
    assert vals[2] == 16384  # +-2 g: 16384 LSB/g
    assert r["scale"] == pytest.approx(1 / 16384)


@pytest.mark.parametrize("spec", ["adxl355@spi1:5", "adxl355@i2c0:0x1D"])
def test_adxl355_configuration_and_fifo_bytes(spec):
    r = run_trace(spec, 4000, 2, nread=8)
    steps = [(0x2D, 0x01),  # POWER_CTL: standby
             (0x28, 0x00),  # FILTER: HPF off, ODR 4000 Hz
             (0x2C, 0xC1),  # RANGE: I2C_HS | INT_POL high | +-2.048 g
             (0x29, 0x30),  # FIFO_SAMPLES: 48 words = 16 x,y,z sets
             (0x2A, 0x02),  # INT_MAP: FULL_EN1 (watermark on INT1)
             (0x2E, 0x00),  # SELF_TEST off
             (0x2D, 0x00)]  # POWER_CTL: measure
    if "spi" in spec:
        exp = []
        for reg, val in steps:
            exp += spi_w(reg << 1, val)  # command = register << 1 | W (0)
        exp += spi_r(0x28 << 1 | 1, 0) + spi_r(0x2C << 1 | 1, 0xC1) + spi_r(0x29 << 1 | 1, 0x30)
        exp += spi_r(0x04 << 1 | 1, 0)
        assert r["cfg"] == exp
        rd = r["read"]
        assert rd[0] == ["w", "0b"] and int(rd[1][1], 16) == 24  # FIFO_ENTRIES = 24 words
        assert rd[2] == ["w", "23"]  # FIFO_DATA 0x11 << 1 | R
        raw = bytes.fromhex(rd[3][1])
    else:
        A = 0x1D
        exp = [i2c_w(A, reg, val) for reg, val in steps]
        exp += [i2c_r(A, 0x28, 0), i2c_r(A, 0x2C, 0xC1), i2c_r(A, 0x29, 0x30), i2c_r(A, 0x04, 0)]
        assert r["cfg"] == exp
        rd = r["read"]
        assert rd[1][:3] == ["r", A, 0x11]
        raw = bytes.fromhex(rd[1][3])
    assert len(raw) == 72  # 8 sets x 3 words x 3 bytes
    words = [int.from_bytes(raw[i:i + 3], "big") for i in range(0, 72, 3)]
    for i, w in enumerate(words):
        assert w & 1 == (1 if i % 3 == 0 else 0)  # X-axis marker on X words only
        assert not w & 2  # not empty
    v20 = [((w >> 4) ^ 0x80000) - 0x80000 for w in words]
    assert v20[2] == 256000  # +-2.048 g: 256000 LSB/g (3.9 ug/LSB)
    assert [v >> 4 for v in v20] == r["buf"]  # the int16 format: data >> 4
    assert r["scale"] == pytest.approx(16 / 256000)  # 62.5 ug per int16 count


# ---- sensitivities at every range (data sheet tables) --------------------------------------------

def test_scales_at_every_range_match_data_sheets():
    r = mpy_case("sensors_accel", "scales")
    exp = {
        "adxl345@spi1:5": [0.0039] * 4,  # full resolution: 3.9 mg/LSB at every range
        "lis3dh@i2c0:0x18": [0.001, 0.002, 0.004, 0.012],  # HR: 1/2/4/12 mg/digit
        "lis3dh@i2c0:0x19": [0.016, 0.032, 0.064, 0.192],  # LP: 16/32/64/192 mg/digit
        "mpu6050@i2c0:0x68": [1 / 16384, 1 / 8192, 1 / 4096, 1 / 2048],
        "adxl355@spi1:5": [16 / 256000, 16 / 128000, 16 / 64000],  # 3.9/7.8/15.6 ug x 16
    }
    for spec, scales in exp.items():
        rows = r[spec]
        assert [row[1] for row in rows] == pytest.approx(scales), spec
        for rng, scale, z in rows:
            assert abs(z * scale - 1.0) <= scale * 1.01, (spec, rng, z)  # 1 g reads 1 g within a count


# ---- self-test ---------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,expect", [
    ("adxl345@spi1:5", [230, -230, 345]),  # LSB at 3.9 mg (emulator's change; limits from Table 1)
    ("lis3dh@i2c0:0x18", [75, 75, 125]),  # digits at 4 mg (300, 300, 500 mg)
    ("mpu6050@i2c0:0x68", [2350, 2250, 2400]),  # LSB at +-8 g (factory trim 2291 for code 16)
    ("adxl355@spi1:5", [0.3, 0.3, 1.5]),  # g
])
def test_self_test_passes_and_restores_configuration(spec, expect):
    r = mpy_case("sensors_accel", "self_test", {"spec": spec})
    assert r["ok"] is True, r
    assert r["d"] == pytest.approx(expect, abs=0.02 if isinstance(expect[0], float) else 2)
    assert r["range"] == 8  # configuration restored


@pytest.mark.parametrize("spec,patch", [
    ("adxl345@spi1:5", ("adxl345", "SELF_TEST_LSB", [40, -230, 345])),  # X below 89 LSB
    ("lis3dh@i2c0:0x18", ("lis3dh", "SELF_TEST_UG", [300000, 2000000, 500000])),  # Y above 360 digits
    ("mpu6050@i2c0:0x68", ("mpu6050", "SELF_TEST_UG", [573730, 549316, 700000])),  # Z 22 % off trim
    ("adxl355@spi1:5", ("adxl355", "SELF_TEST_UG", [300000, 300000, 200000])),  # Z below 0.5 g
])
def test_self_test_fails_outside_limits(spec, patch):
    r = mpy_case("sensors_accel", "self_test", {"spec": spec, "patch": patch})
    assert r["ok"] is False, r


# ---- die temperature -----------------------------------------------------------------------------

def test_die_temperatures_follow_data_sheet_transfer_functions():
    r = mpy_case("sensors_accel", "die_temps")
    t, trace = r["mpu6050@i2c0:0x68"]
    raw = int.from_bytes(bytes.fromhex(trace[0][3]), "big", signed=True)
    assert trace[0][:3] == ["r", 0x68, 0x41]
    assert raw == int((47.25 - 36.53) * 340)  # TEMP_OUT = (T - 36.53) x 340
    assert t == pytest.approx(raw / 340 + 36.53) and abs(t - 47.25) < 0.01
    t, trace = r["adxl355@spi1:5"]
    assert trace[0] == ["w", "0d"]  # TEMP2 0x06 << 1 | R
    b = bytes.fromhex(trace[1][1])
    raw = ((b[0] & 0x0F) << 8) | b[1]
    assert raw == round(1885 - 9.05 * (47.25 - 25)) or raw == int(1885 - 9.05 * (47.25 - 25))
    assert t == pytest.approx(25 + (raw - 1885) / -9.05)
    assert abs(t - 47.25) < 0.15  # one LSB = 0.11 C


# ---- no allocation in burst reads ----------------------------------------------------------------

@pytest.mark.parametrize("spec", ["adxl345@spi1:5", "adxl345@i2c0:0x53", "lis3dh@i2c0:0x18", "lis3dh@spi1:5",
                                  "mpu6050@i2c0:0x68", "adxl355@spi1:5", "adxl355@i2c0:0x1D"])
def test_burst_reads_allocate_nothing(spec):
    r = mpy_case("sensors_accel", "burst_alloc", {"spec": spec})
    assert r["ok"], "allocation inside 1000 burst reads (heap_lock raised MemoryError)"
    assert r["delta"] == 0
    assert r["total"] >= 1000 * r["wm"] - 2  # real bursts were read
    assert r["ovr"] == 0


def test_host_board_finds_each_chip_where_its_config_wires_it():
    r = mpy_case("sensors_accel", "where_wired")
    for spec, name, where in r:
        assert name == spec.split("@")[0], (spec, name)
        assert where == ("i2c@0x53" if "i2c" in spec else "spi@cs5")
