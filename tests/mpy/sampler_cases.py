# The sampler against the emulated chips in emulated time (tests/test_sampler.py).
import gc

import micropython
from sensorkit import accel, mk


def gap_free_60s(args):
    from window.sampler import Sampler
    b = mk(["adxl345@spi1:5"], {"noise_g": 0.0, "rpm": args["rpm"], "imbalance_g": [1.0, 0.0, 0.0],
                                "gravity_g": [0.0, 0.0, 1.0]})
    a = accel(b, "adxl345")
    a.configure(3200, 16)
    emu = b.chips["adxl345@spi1:5"]
    s = Sampler(a, b.clock, 1600, irq=b.int_pin())
    t0 = b.clock.now_us()
    f = open(args["out"], "wb")
    zmin = 99999
    zmax = -99999
    for i in range(120):
        s.acquire(restart=False)   # back to back from the first sample the chip produced
        f.write(s.axes[0])
        zmin = min(zmin, min(s.axes[2]))
        zmax = max(zmax, max(s.axes[2]))
    f.close()
    t1 = b.clock.now_us()
    return {"samples": s.samples, "windows": s.windows, "overruns": s.overruns, "lost": s.lost,
            "emu_lost": emu.overruns, "produced": emu.produced, "pending": a.fifo_level(),
            "elapsed_us": t1 - t0, "stream_mhz": s.stream_rate_mhz, "window_mhz": s.rate_measured_mhz,
            "z": [zmin, zmax], "empty_polls": s.empty_polls}


def late_consumer(args):
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
    return {"first": first, "late": late, "again": again, "fifo_ovr": a.overruns}


def rate_ppm(args):
    from window.sampler import Sampler
    spec = args["spec"]
    b = mk([spec])
    emu = b.chips[spec]
    emu.rate_ppm = args["ppm"]
    a = accel(b, spec.split("@")[0])
    a.configure(a.MAX_RATE, 8)
    s = Sampler(a, b.clock, 2048, irq=b.int_pin())
    for i in range(6):
        s.acquire(restart=(i == 0))
    return {"odr": a.rate, "stream": s.stream_rate_mhz, "window": s.rate_measured_mhz, "ovr": s.overruns,
            "samples": s.samples, "emu": emu.produced}


def int1_wait(args):
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
    return {"irq": irq, "dead": [s2.samples, s2.overruns]}


def mpu6050_polled(args):
    from window.sampler import Sampler
    b = mk(["mpu6050@i2c0:0x68"])
    a = accel(b, "mpu6050")
    a.configure(1000, 8)
    s = Sampler(a, b.clock, 1024, irq=b.int_pin())
    s.acquire()
    return {"irq": s.irq is not None, "n": s.samples, "ovr": s.overruns}


def mpu6050_overflow(args):
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
    return {"count": count, "ovr": s.overruns, "lost": s.window_lost, "z": [min(z), max(z)]}


def no_allocation(args):
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
    return res


if __name__ == "__main__":
    from harness import main
    main(globals())
