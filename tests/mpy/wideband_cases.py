# The IIS3DWB driver and emulator, and the streamer at 26.667 kHz (tests/test_wideband.py).
import array
import gc

import micropython
from harness import main
from sensorkit import STILL, accel, mk

SPEC = "iis3dwb@spi1:5"


def _regs(b):
    from sensors.regbus import SPIRegs
    import machine
    kind, spi = b.bus("spi1")
    return SPIRegs(spi, machine.Pin(5), read=0x80, multi=0, addr_mask=0x7F, polarity=1, phase=1, baudrate=10000000)


def registers(args):
    b = mk([SPEC])
    r = _regs(b)
    out = {"who": r.read_u8(0x0F), "ctrl3_reset": r.read_u8(0x12)}
    r.write_u8(0x0F, 0x00)
    r.write_u8(0x11, 0xFF)  # reserved
    r.write_u8(0x10, 0xFF)  # CTRL1_XL: bits 4 and 0 unused
    r.write_u8(0x08, 0xFF)  # FIFO_CTRL2: STOP_ON_WTM and WTM8 only
    r.write_u8(0x3A, 0x55)  # FIFO_STATUS1 is read-only
    out["after"] = [r.read_u8(0x0F), r.read_u8(0x11), r.read_u8(0x10), r.read_u8(0x08), r.read_u8(0x3A)]
    r.write_u8(0x12, 0x01)  # SW_RESET
    out["reset"] = [r.read_u8(0x10), r.read_u8(0x08), r.read_u8(0x12)]
    return out


def fifo(args):
    b = mk([SPEC])
    a = accel(b, "iis3dwb")
    a.configure(range_g=8, watermark=100)
    emu = b.chips[SPEC]
    r = a.regs
    pin = b.int_pin()
    b2 = bytearray(2)
    out = {}
    b.clock.sleep_us(3000)  # 80 samples (37.5 us apart)
    r.read_into(0x3A, b2)
    out["3ms"] = [b2[0] | ((b2[1] & 3) << 8), b2[1] & 0xF8, pin.value()]
    b.clock.sleep_us(1000)  # 106
    r.read_into(0x3A, b2)
    out["4ms"] = [b2[0] | ((b2[1] & 3) << 8), b2[1] & 0xF8, pin.value()]
    b.clock.sleep_us(26000)  # 800 produced: 288 overwritten
    r.read_into(0x3A, b2)
    out["30ms"] = [b2[0] | ((b2[1] & 3) << 8), b2[1] & 0xF8, emu.overruns, emu.produced]
    r.read_into(0x3A, b2)
    out["again"] = b2[1] & 0xF8  # OVER_RUN_LATCHED cleared by the read; still full
    buf = array.array("h", bytes(6 * 512))
    out["read"] = a.read_fifo(buf, 512)
    r.read_into(0x3A, b2)
    out["empty"] = [b2[0] | ((b2[1] & 3) << 8), b2[1] & 0xF8]
    return out


def word_bytes(args):
    """One FIFO word as it crosses the bus, against the output registers."""
    b = mk([SPEC], {"noise_g": 0.0, "imbalance_g": [0, 0, 0], "gravity_g": [0.25, -0.5, 1.0]})
    a = accel(b, "iis3dwb")
    a.configure(range_g=8, watermark=16)
    b.clock.sleep_us(200)  # 5 samples
    r = a.regs
    w = bytearray(14)
    r.read_into(0x78, w)  # two words, one burst
    o = bytearray(6)
    r.read_into(0x28, o)
    t = bytearray(2)
    r.read_into(0x20, t)
    return {"words": [list(w[:7]), list(w[7:])], "out": list(o), "temp": list(t), "temp_c": a.die_temp_c(),
            "level": a.fifo_level()}


def bursts(args):
    """read_fifo of k words goes in power-of-two bursts (the driver keeps one view per power of two):
    100 words read at once (64 + 32 + 4) against the same stream read one word at a time."""
    sim = {"noise_g": 0.0, "imbalance_g": [0.5, 0.3, 0.2], "gravity_g": [0.0, 0.0, 1.0]}
    out = []
    for one in (False, True):
        b = mk([SPEC], sim)
        a = accel(b, "iis3dwb")
        a.configure(range_g=8, watermark=128)
        b.clock.sleep_us(4500)  # 120 words
        buf = array.array("h", bytes(6 * 100))
        if one:
            got = sum(a.read_fifo(buf, 1, i) for i in range(100))
        else:
            got = a.read_fifo(buf, 100)
        out.append([got, list(buf), a.fifo_level(), a.bad_words, len(a._views)])
    return out


def spi_modes(args):
    b = mk([SPEC])
    from sensors.regbus import SPIRegs
    import machine
    kind, spi = b.bus("spi1")
    out = {}
    for name, pol, ph in (("mode0", 0, 0), ("mode3", 1, 1), ("mode1", 0, 1)):
        r = SPIRegs(spi, machine.Pin(5), read=0x80, multi=0, addr_mask=0x7F, polarity=pol, phase=ph)
        out[name] = r.read_u8(0x0F)
    return out


def ranges(args):
    b = mk([SPEC])
    a = accel(b, "iis3dwb")
    out = []
    buf = array.array("h", bytes(6 * 8))
    for g in (2, 4, 8, 16, 3):
        a.configure(range_g=g, watermark=8)
        b.clock.sleep_us(400)
        a.read_fifo(buf, 8)
        out.append([a.range_g, buf[2], a.scale])
    return out


def faults(args):
    from sensors.errors import SensorError
    b = mk([SPEC])
    emu = b.chips[SPEC]
    out = {}
    emu.present = False
    try:
        accel(b, "iis3dwb")
        out["absent"] = None
    except SensorError as e:
        out["absent"] = e.name
    emu.present = True
    a = accel(b, "iis3dwb")
    a.configure(range_g=8, watermark=16)
    b.clock.sleep_us(200)
    buf = array.array("h", bytes(6 * 8))
    a.overrun()
    emu.flip_next = 0x80  # a bit error in the second word's tag byte (byte 7 of a 14-byte burst)
    w = bytearray(14)
    a.regs.read_into(0x78, w)
    from sensors.detag import detag_into
    got = detag_into(buf, 0, w, 2)
    emu.flip_next = 0x40  # and in FIFO_STATUS1 (bit 6 of DIFF_FIFO): the level is wrong
    n = a.read_fifo(buf, 8)  # more words than the FIFO held: empty reads (tag 0) are dropped
    out["flip"] = [got, a.bad_words, a.overrun(), n]
    ok, d = a.self_test(b.clock.sleep_ms)
    out["self_test"] = [ok, list(d)]
    emu.dead = True
    b.clock.sleep_us(5000)
    a.fifo_level()
    a.read_fifo(buf, 8)
    b.clock.sleep_us(5000)
    out["dead_level"] = a.fifo_level()
    return out


def _stream(b, wm=128):
    from window.stream import Streamer
    a = accel(b, "iis3dwb")
    a.configure(range_g=8, watermark=wm)
    s = Streamer(a, b.clock, irq=b.int_pin())
    s.start()
    return a, s


def gap_free_60s(args):
    b = mk([SPEC], {"noise_g": 0.0, "rpm": args["rpm"], "imbalance_g": [1.0, 0.0, 0.0], "gravity_g": [0.0, 0.0, 1.0]})
    emu = b.chips[SPEC]
    a, s = _stream(b)
    f = open(args["out"], "wb")
    mv = memoryview(s.block)
    z = [99999, -99999]

    def sink(blk, k):
        f.write(mv[:3 * k])

    t0 = b.clock.now_us()
    s.run(args["seconds"] * 26667, sink)
    f.close()
    return {"samples": s.samples, "overruns": s.overruns, "lost": s.lost, "emu_lost": emu.overruns,
            "produced": emu.produced, "pending": a.fifo_level(), "elapsed_us": b.clock.now_us() - t0,
            "rate_mhz": s.rate_mhz(), "blocks": s.blocks, "empty_polls": s.empty_polls}


def late_consumer(args):
    b = mk([SPEC])
    emu = b.chips[SPEC]
    a, s = _stream(b)
    late = args["late_ms"]
    state = [0]

    def sink(blk, k):
        state[0] += 1
        if state[0] in (40, 120):  # late twice: a block that took too long to process
            b.clock.sleep_ms(late[0] if state[0] == 40 else late[1])

    out = []
    s.run(26667, sink)
    out.append([s.overruns, s.lost, emu.overruns])
    s.run(26667, sink)
    out.append([s.overruns, s.lost, emu.overruns])
    pending = a.fifo_level()
    return {"steps": out, "samples": s.samples, "pending": pending, "produced": emu.produced,
            "rate_mhz": s.rate_mhz()}


def no_alloc(args):
    b = mk([SPEC], {"noise_g": 0.01})
    a, s = _stream(b)
    n = [0]

    def sink(blk, k):
        n[0] += k

    s.run(2000, sink)  # warm up (first calls may allocate caches)
    gc.collect()
    m0 = gc.mem_alloc()
    micropython.heap_lock()
    try:
        for _ in range(200):
            s.step(sink)
        locked = True
    except MemoryError:
        locked = False
    micropython.heap_unlock()
    return {"heap_locked_ok": locked, "delta": gc.mem_alloc() - m0, "samples": n[0], "lost": s.lost}


if __name__ == "__main__":
    main(globals())
