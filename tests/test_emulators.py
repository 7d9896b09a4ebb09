"""The host emulators behave like the silicon where a driver bug would show: read-only
registers ignore writes, reserved bits stay 0, out-of-range settings clamp, FIFOs overrun with
the chip's depth and flags, data are justified per mode, SPI needs the chip's mode."""
from conftest import mpy_case

def test_read_only_and_reserved_registers():
    r = mpy_case("emulator_regs", "read_only_and_reserved")
    assert r["adxl345"] == [0xE5, 0x1F, 0xEF, 0x00]
    assert r["lis3dh"] == [0x33, 0x10, 0x4F, 0xFE, 0x00]
    assert r["mpu6050"] == [0x68, 0x3F, 0x00, 0x70, 0x40]  # still asleep (PWR_MGMT_1 reset 0x40)
    assert r["adxl355"] == [0xED, 0x7A, 0x60, 0xC1]
    assert r["tmp117"][0] == "0117" and r["tmp117"][1] == "8000"  # not converted yet
    assert int(r["tmp117"][2], 16) & 0x0FFF == 0x0FFC


def test_fifo_depths_and_overrun_flags():
    r = mpy_case("emulator_regs", "fifo_depths_and_overruns")
    lvl1, o1, lvl2, o2 = r["adxl345"]
    assert lvl1 == 16 and o1 == 0
    assert lvl2 == 32 and o2 == 1  # 32 entries reported (+1 in the output stage), Overrun set
    assert r["adxl345_fifo_mode"] == 32
    s1, s2 = r["lis3dh"]
    assert s1 == 0x80 | 10  # WTM, FSS 10
    assert s2 == 0x80 | 0x40  # full: WTM | OVRN_FIFO, FSS 0 (32 unread)
    n1, n2, of1, of2 = r["mpu6050"]
    assert n1 == 600 and n2 == 1024  # bytes; 1024 is no multiple of 6: framing is lost
    assert of1 == 0x10 and of2 == 0  # FIFO_OFLOW_INT, cleared by reading INT_STATUS
    e1, ov1, e2, st2, ov3 = r["adxl355"]
    assert e1 == 30 and ov1 == 0  # 10 x,y,z sets = 30 words
    assert e2 == 96 and st2 == 0x06  # full: FIFO_FULL | FIFO_OVR
    assert ov3 == 0  # FIFO_OVR clears when STATUS is read


def test_justification_and_modes():
    r = mpy_case("emulator_regs", "justified")
    # ADXL345, 1 g on z: 10-bit +-2 g: 256 (3.9 mg); 10-bit +-16 g: 32 (31.2 mg); full res: 256;
    # left-justified 10-bit +-16 g: 32 << 6; left-justified full res 13-bit: 256 << 3
    assert r["adxl345"] == [256, 32, 256, 32 << 6, 256 << 3]
    # LIS3DH, 1 g, +-2 g: HR 12-bit 1000 << 4; normal 10-bit 250 << 6; LP 8-bit 62 << 8;
    # BLE: the high byte comes first
    hr, normal, lp, ble = r["lis3dh"]
    assert hr == 1000 << 4 and normal == 250 << 6 and lp == 62 << 8
    assert ble == ((hr & 0xFF) << 8) | (hr >> 8)


def test_spi_mode_and_protocol_must_match_the_chip():
    r = mpy_case("emulator_regs", "spi_modes")
    assert r["adxl345 mode 3"] == 0xE5 and r["adxl355 mode 0"] == 0xAD
    assert r["adxl345 mode 0"] == 0x00 and r["adxl355 mode 3"] == 0x00  # sampled on the wrong edge
    assert r["adxl355 adxl345-style command"] != 0xAD  # 0x80 is a write to 0x40 for an ADXL355


def test_output_data_rates_in_emulated_time():
    r = mpy_case("emulator_regs", "output_data_rates")
    assert r == {"adxl345@spi1:5": 1600, "lis3dh@i2c0:0x18": 10752, "mpu6050@i2c0:0x68": 400,
                 "adxl355@i2c0:0x1D": 4000}
