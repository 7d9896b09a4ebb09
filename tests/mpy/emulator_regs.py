# The host emulators against the silicon's behaviour (tests/test_emulators.py), through raw
# register access.
import binascii

from sensorkit import mk
from sensors.regbus import I2CRegs, SPIRegs


def i2c_regs(b, addr, inc=0):
    return I2CRegs(b.bus("i2c0")[1], addr, inc)


def spi_regs(b, cs, **kw):
    return SPIRegs(b.bus("spi1")[1], b.pin(cs), **kw)


def read_only_and_reserved(args):
    out = {}
    b = mk(["adxl345@i2c0:0x53", "lis3dh@i2c0:0x18", "mpu6050@i2c0:0x68", "adxl355@i2c0:0x1D", "tmp117@i2c0:0x48"])
    x = i2c_regs(b, 0x53)
    x.write_u8(0x00, 0x12)          # DEVID is read-only
    x.write_u8(0x2C, 0xFF)          # BW_RATE bits 7:5 reserved
    x.write_u8(0x31, 0xFF)          # DATA_FORMAT bit 4 reserved
    x.write_u8(0x10, 0x55)          # reserved register
    out["adxl345"] = [x.read_u8(0x00), x.read_u8(0x2C), x.read_u8(0x31), x.read_u8(0x10)]
    l = i2c_regs(b, 0x18, 0x80)
    l.write_u8(0x0F, 0x00)          # WHO_AM_I read-only
    l.write_u8(0x1E, 0x7F)          # CTRL_REG0 bits 6:0 must stay 0010000
    l.write_u8(0x24, 0xFF)          # CTRL_REG5: BOOT self-clears, bits 5:4 reserved
    l.write_u8(0x22, 0xFF)          # CTRL_REG3 bit 0 reserved
    l.write_u8(0x28, 0x55)          # OUT_X_L read-only
    out["lis3dh"] = [l.read_u8(0x0F), l.read_u8(0x1E), l.read_u8(0x24), l.read_u8(0x22), l.read_u8(0x28)]
    m = i2c_regs(b, 0x68)
    m.write_u8(0x75, 0x00)          # WHO_AM_I read-only
    m.write_u8(0x1A, 0xFF)          # CONFIG bits 7:6 reserved
    m.write_u8(0x3B, 0x12)          # ACCEL_XOUT_H read-only
    m.write_u8(0x6A, 0xFF)          # USER_CTRL: reset bits self-clear, bits 7 and 3 reserved
    out["mpu6050"] = [m.read_u8(0x75), m.read_u8(0x1A), m.read_u8(0x3B), m.read_u8(0x6A), m.read_u8(0x6B)]
    a = i2c_regs(b, 0x1D)
    a.write_u8(0x02, 0x00)          # PARTID read-only
    a.write_u8(0x28, 0xFF)          # FILTER: bit 7 reserved, ODR code 15 -> 10 (3.906 Hz, the slowest)
    a.write_u8(0x29, 0xFF)          # FIFO_SAMPLES: bit 7 reserved, > 96 -> 96
    a.write_u8(0x2C, 0xFC)          # RANGE: bits 5:2 reserved, range 00 reserved (keeps +-2 g)
    out["adxl355"] = [a.read_u8(0x02), a.read_u8(0x28), a.read_u8(0x29), a.read_u8(0x2C)]
    t = i2c_regs(b, 0x48)
    buf = bytearray(2)
    t.write(0x0F, b"\x00\x00")      # Device_ID read-only
    t.write(0x00, b"\x12\x34")      # Temp_Result read-only
    t.write(0x01, b"\xFF\xFD")      # Configuration: flags 15:12 read-only, bit 0 reserved
    t.read_into(0x0F, buf)
    d = bytes(buf)
    t.read_into(0x00, buf)
    tr0 = bytes(buf)
    t.read_into(0x01, buf)
    c = bytes(buf)
    out["tmp117"] = [binascii.hexlify(d).decode(), binascii.hexlify(tr0).decode(), binascii.hexlify(c).decode()]
    return out


def fifo_depths_and_overruns(args):
    out = {}
    b = mk(["adxl345@spi1:5", "lis3dh@i2c0:0x18", "mpu6050@i2c0:0x68", "adxl355@i2c0:0x1D"])
    x = spi_regs(b, 5, read=0x80, multi=0x40)
    x.write_u8(0x2C, 0x0F)
    x.write_u8(0x38, 0x80)
    x.write_u8(0x2D, 0x08)   # 3200 Hz, stream
    b.clock.sleep_ms(5)       # 16 samples
    lvl1 = x.read_u8(0x39)
    src1 = x.read_u8(0x30)
    b.clock.sleep_ms(100)     # 320 samples: overrun
    lvl2 = x.read_u8(0x39)
    src2 = x.read_u8(0x30)
    out["adxl345"] = [lvl1, src1 & 1, lvl2, src2 & 1]
    x.write_u8(0x38, 0x40)    # FIFO mode (stops when full)
    b.clock.sleep_ms(100)
    out["adxl345_fifo_mode"] = x.read_u8(0x39)
    l = i2c_regs(b, 0x18, 0x80)
    l.write_u8(0x24, 0x40)
    l.write_u8(0x2E, 0x80 | 10)
    l.write_u8(0x20, 0x77)  # 400 Hz, stream, FTH 10
    b.clock.sleep_us(25000)   # 10 samples
    s1 = l.read_u8(0x2F)
    b.clock.sleep_ms(200)
    s2 = l.read_u8(0x2F)
    out["lis3dh"] = [s1, s2]
    m = i2c_regs(b, 0x68)
    m.write_u8(0x6B, 0x01)
    m.write_u8(0x1A, 0x01)
    m.write_u8(0x19, 0x00)
    m.write_u8(0x23, 0x08)
    m.write_u8(0x6A, 0x44)
    b.clock.sleep_ms(100)
    c = bytearray(2)
    m.read_into(0x72, c)
    n1 = c[0] << 8 | c[1]
    b.clock.sleep_ms(500)
    m.read_into(0x72, c)
    n2 = c[0] << 8 | c[1]
    st = m.read_u8(0x3A)
    st2 = m.read_u8(0x3A)
    out["mpu6050"] = [n1, n2, st & 0x10, st2 & 0x10]
    a = i2c_regs(b, 0x1D)
    a.write_u8(0x28, 0x02)
    a.write_u8(0x2D, 0x00)   # 1000 Hz, measure
    b.clock.sleep_ms(10)
    e1 = a.read_u8(0x05)
    s1 = a.read_u8(0x04)
    b.clock.sleep_ms(100)
    e2 = a.read_u8(0x05)
    s2 = a.read_u8(0x04)
    s3 = a.read_u8(0x04)
    out["adxl355"] = [e1, s1 & 0x04, e2, s2 & 0x06, s3 & 0x04]
    return out


def justified(args):
    out = {}
    b = mk(["adxl345@i2c0:0x53", "lis3dh@i2c0:0x18"], {"noise_g": 0.0, "imbalance_g": [0, 0, 0],
                                                     "gravity_g": [0.0, 0.0, 1.0]})
    x = i2c_regs(b, 0x53)
    buf = bytearray(6)
    res = []
    for fmt in (0x00, 0x03, 0x0B, 0x04 | 0x03, 0x04 | 0x0B):   # 10-bit 2 g, 10-bit 16 g, full 16 g, left-justified
        x.write_u8(0x2D, 0)
        x.write_u8(0x31, fmt)
        x.write_u8(0x38, 0)
        x.write_u8(0x2C, 0x0A)
        x.write_u8(0x2D, 8)
        b.clock.sleep_ms(30)
        x.read_into(0x32, buf)
        res.append(buf[4] | buf[5] << 8)
    out["adxl345"] = res
    l = i2c_regs(b, 0x18, 0x80)
    res = []
    for c1, c4 in ((0x57, 0x08), (0x57, 0x00), (0x5F, 0x00), (0x57, 0x48)):   # HR, normal, LP, HR big-endian
        l.write_u8(0x23, c4)
        l.write_u8(0x20, c1)
        b.clock.sleep_ms(30)
        l.read_into(0x2C, buf)   # OUT_Z_L, OUT_Z_H
        res.append(buf[0] | buf[1] << 8)
    out["lis3dh"] = res
    return out


def spi_modes(args):
    b = mk(["adxl345@spi1:5", "adxl355@spi1:15"])
    out = {}
    for name, cs, kw, reg in (("adxl345 mode 3", 5, {"polarity": 1, "phase": 1}, 0x00),
                              ("adxl345 mode 0", 5, {"polarity": 0, "phase": 0}, 0x00),
                              ("adxl355 mode 0", 15, {"polarity": 0, "phase": 0, "read": 1, "multi": 0, "shift": 1,
                                                       "addr_mask": 0x7F}, 0x00),
                              ("adxl355 mode 3", 15, {"polarity": 1, "phase": 1, "read": 1, "multi": 0, "shift": 1,
                                                       "addr_mask": 0x7F}, 0x00),
                              ("adxl355 adxl345-style command", 15, {"polarity": 0, "phase": 0}, 0x00)):
        out[name] = spi_regs(b, cs, **kw).read_u8(reg)
    return out


def output_data_rates(args):
    b = mk(["adxl345@spi1:5", "lis3dh@i2c0:0x18", "mpu6050@i2c0:0x68", "adxl355@i2c0:0x1D"])
    res = {}
    x = spi_regs(b, 5, read=0x80, multi=0x40)
    l = i2c_regs(b, 0x18, 0x80)
    m = i2c_regs(b, 0x68)
    a = i2c_regs(b, 0x1D)
    x.write_u8(0x2C, 0x0D)
    x.write_u8(0x38, 0x80)
    x.write_u8(0x2D, 0x08)   # 800 Hz, stream
    l.write_u8(0x20, 0x9F)                                    # 5.376 kHz (LP)
    m.write_u8(0x6B, 0x01)
    m.write_u8(0x1A, 0x01)
    m.write_u8(0x19, 0x04)   # 1 kHz / 5 = 200 Hz
    a.write_u8(0x28, 0x01)
    a.write_u8(0x2D, 0x00)          # 2000 Hz
    b.clock.sleep_ms(2000)
    for spec in ("adxl345@spi1:5", "lis3dh@i2c0:0x18", "mpu6050@i2c0:0x68", "adxl355@i2c0:0x1D"):
        e = b.chips[spec]
        e.sync()
        res[spec] = e.produced
    return res


if __name__ == "__main__":
    from harness import main
    main(globals())
