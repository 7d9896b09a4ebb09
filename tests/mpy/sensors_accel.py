# Accelerometer drivers against the register-level emulators (tests/test_sensors_accel.py): bus
# transactions, sensitivities, self-test, die temperature, allocation-free burst reads.
import array
import gc

import micropython
from sensors import detect
from sensorkit import accel, bus_of, mk, tr


def trace(a):
    """configure(rate, range) then one burst of nread samples; the bus bytes of each"""
    spec = a["spec"]
    b = mk([spec])
    acc = accel(b, spec.split("@")[0])
    bus = bus_of(b, spec)
    bus.trace = []
    acc.configure(a["rate"], a["range"])
    cfg = tr(bus.trace)
    buf = array.array("h", bytes(6 * 32))
    b.clock.sleep_us(a["nread"] * 1000000 // acc.rate + 10)
    bus.trace = []
    n = acc.read_fifo(buf, a["nread"])
    return {"cfg": cfg, "read": tr(bus.trace), "n": n, "buf": list(buf[:3 * n]), "scale": acc.scale,
            "rate": acc.rate, "range": acc.range_g}


def scales(a):
    out = {}
    for spec, rate, ranges in (("adxl345@spi1:5", 3200, (2, 4, 8, 16)), ("lis3dh@i2c0:0x18", 1344, (2, 4, 8, 16)),
                               ("lis3dh@i2c0:0x19", 5376, (2, 4, 8, 16)), ("mpu6050@i2c0:0x68", 1000, (2, 4, 8, 16)),
                               ("adxl355@spi1:5", 4000, (2, 4, 8))):
        b = mk([spec])
        acc = accel(b, spec.split("@")[0])
        row = []
        for g in ranges:
            acc.configure(rate, g)
            buf = array.array("h", bytes(6 * 8))
            b.clock.sleep_us(4 * 1000000 // acc.rate + 10)
            acc.read_fifo(buf, 2)
            row.append([acc.range_g, acc.scale, buf[2]])
        out[spec] = row
    return out


def self_test(a):
    """the driver's self-test; patch = [emulator module, name, value] sets the emulated chip's response"""
    spec = a["spec"]
    patch = a.get("patch")
    if patch:
        mod, name, val = patch
        m = __import__("emulators." + mod, None, None, [name])
        setattr(m, name, tuple(val))
    b = mk([spec])
    acc = accel(b, spec.split("@")[0])
    acc.configure(acc.MAX_RATE, 8)
    ok, d = acc.self_test(b.clock.sleep_ms)
    return {"ok": ok, "d": list(d), "rate": acc.rate, "range": acc.range_g}


def die_temps(a):
    out = {}
    for spec in ("mpu6050@i2c0:0x68", "adxl355@spi1:5"):
        b = mk([spec], {"noise_g": 0.0, "temperature": {"start_c": 47.25, "drift_c_per_h": 0.0}})
        acc = accel(b, spec.split("@")[0])
        acc.configure(1000, 8)
        bus = bus_of(b, spec)
        bus.trace = []
        t = acc.die_temp_c()
        out[spec] = [t, tr(bus.trace)]
    return out


def burst_alloc(a):
    """1000 watermark bursts with the heap locked"""
    spec = a["spec"]
    b = mk([spec], {"noise_g": 0.02, "imbalance_g": [1.0, 0.5, 0.2]})
    acc = accel(b, spec.split("@")[0])
    acc.configure(acc.MAX_RATE, 16)
    buf = array.array("h", bytes(6 * 32))
    dt = acc.watermark * 1000000 // acc.rate
    sleep = b.clock.sleep_us
    for i in range(50):
        sleep(dt)
        acc.read_fifo(buf, 32)
        acc.overrun()
    gc.collect()
    before = gc.mem_alloc()
    total = 0
    micropython.heap_lock()
    try:
        for i in range(1000):
            sleep(dt)
            total += acc.read_fifo(buf, 32)
            acc.overrun()
        locked_ok = True
    except MemoryError:
        locked_ok = False
    micropython.heap_unlock()
    after = gc.mem_alloc()
    return {"ok": locked_ok, "delta": after - before, "total": total, "wm": acc.watermark, "ovr": acc.overruns}


def where_wired(a):
    out = []
    for spec in ("lis3dh@i2c0:0x53", "mpu6050@i2c0:0x53", "adxl355@i2c0:0x53", "adxl345@spi1:5", "lis3dh@spi1:5"):
        b = mk([spec])
        acc = detect.find_accel(b, {})
        out.append([spec, acc.NAME, acc.regs.describe()])
    return out


if __name__ == "__main__":
    from harness import main
    main(globals())
