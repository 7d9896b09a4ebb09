# Temperature sensor drivers against their emulators (tests/test_sensors_temp.py).
from sensors import detect
from sensorkit import err_name, mk, tr


def tmp117_conversions(args):
    from sensors.tmp117 import to_c, from_c
    return {"c": [to_c(v) for v in (0x0C80, 0x6400, 0xEC00, 0x0001, 0xFFFF, 0x8000, 0x7FFF)],
            "raw": [from_c(c) for c in (25.0, -40.0, 0.0078125)]}


def tmp117_bytes(args):
    b = mk(["tmp117@i2c0:0x48"])
    from sensors.tmp117 import TMP117
    from sensors.regbus import I2CRegs
    kind, i2c = b.bus("i2c0")
    b.i2c_bus.trace = []
    t = TMP117(I2CRegs(i2c, 0x48))
    t.configure(averages=8, cycle_ms=1000, high_c=24.0)
    cfg = tr(b.i2c_bus.trace)
    try:
        t.read_c()
        first = "no error"
    except OSError as e:
        first = err_name(e)
    h0 = t.health
    b.clock.sleep_ms(130)   # 8 averages x 15.5 ms = 124 ms to the first result
    b.i2c_bus.trace = []
    c = t.read_c()
    rd = tr(b.i2c_bus.trace)
    return {"cfg": cfg, "first": first, "h0": h0, "c": c, "rd": rd, "alert": t.alert, "health": t.health}


def cvd_table(args):
    from sensors.max31865 import cvd_temperature, cvd_resistance
    ts = args["ts"]
    return {"t": [cvd_temperature(r, 100.0) for r in args["ohms"]], "r": [cvd_resistance(t, 100.0) for t in ts],
            "pt1000": cvd_temperature(1385.06, 1000.0)}


def max31865_worked_example(args):
    import machine
    from emulators.max31865 import MAX31865Emu
    from sensors.max31865 import MAX31865
    from sensors.regbus import SPIRegs
    b = mk([], {"temperature": {"start_c": 0.0, "drift_c_per_h": 0.0}})
    emu = MAX31865Emu(b.clock, b.sim, rref=400.0, r0=100.0)
    b.spi_bus.attach(15, emu)
    kind, spi = b.bus("spi1")
    s = MAX31865.SPI
    regs = SPIRegs(spi, b.pin(15), read=s["read"], multi=s["multi"], addr_mask=s["addr_mask"],
                   polarity=s["polarity"], phase=s["phase"], baudrate=s["baudrate"], write=s["write"])
    t = MAX31865(regs, rref=400.0, r0=100.0)
    b.spi_bus.trace = []
    t.configure(wires=3, filter_hz=50)
    cfg = tr(b.spi_bus.trace)
    b.clock.sleep_ms(25)
    b.spi_bus.trace = []
    c = t.read_c()
    return {"cfg": cfg, "rd": tr(b.spi_bus.trace), "c": c, "ohm": t.resistance(8192)}


def max31865_host_board(args):
    b = mk(["max31865@spi1:15"], {"temperature": {"start_c": -38.0, "drift_c_per_h": 0.0}})
    t = detect.find_temp(b, {})
    b.clock.sleep_ms(50)
    return {"name": t.NAME, "c": t.read_c(), "health": t.health}


def max31865_faults(args):
    from sensors.max31865 import decode_faults
    b = mk(["max31865@spi1:15"])
    emu = b.chips["max31865@spi1:15"]
    t = detect.find_temp(b, {})
    out = {"all": decode_faults(0xFC)}
    for fault in ("open", "short"):
        emu.rtd = fault
        b.clock.sleep_ms(50)
        try:
            t.read_c()
            out[fault] = "no error"
        except OSError as e:
            out[fault] = [err_name(e), str(e), t.health, list(t.faults)]
        out[fault + "_cycle"] = t.fault_cycle(b.clock.sleep_ms)
        emu.rtd = "ok"
        b.clock.sleep_ms(50)
        out[fault + "_back"] = [t.read_c(), t.health]
    b.spi_bus.stuck = True
    try:
        t.read_c()
    except OSError as e:
        out["stuck"] = [err_name(e), t.health]
    b.spi_bus.stuck = False
    out["unstuck"] = t.read_c()
    return out


def tmp117_faults(args):
    b = mk(["tmp117@i2c0:0x48"])
    emu = b.chips["tmp117@i2c0:0x48"]
    out = {}
    emu.present = False
    try:
        detect.find_temp(b, {})
    except OSError as e:
        out["absent"] = [err_name(e), str(e)]
    emu.present = True
    emu.flip_next = 0x04
    try:
        detect.find_temp(b, {})
    except OSError as e:
        out["flip"] = [err_name(e), str(e)]
    t = detect.find_temp(b, {})
    b.clock.sleep_ms(200)
    out["ok"] = t.read_c()
    b.i2c_bus.stuck = True
    try:
        t.read_c()
    except OSError as e:
        out["stuck"] = [err_name(e), t.health]
    b.i2c_bus.stuck = False
    out["back"] = [t.read_c(), t.health]
    return out


if __name__ == "__main__":
    from harness import main
    main(globals())
