# Injected faults on the emulated chips and buses (tests/test_emulators_faults.py).
import array

from sensorkit import accel, bus_of, err_name, mk


def every_fault(args):
    from window.sampler import Sampler
    spec = args["spec"]
    chip = spec.split("@")[0]
    b = mk([spec], {"noise_g": 0.01, "imbalance_g": [0.5, 0.2, 0.1]})
    emu = b.chips[spec]
    bus = bus_of(b, spec)
    out = {}

    def attempt(key, fn):
        try:
            fn()
            out[key] = "ok"
        except OSError as e:
            out[key] = [err_name(e), str(e)]

    # absent: the chip does not answer
    emu.present = False
    attempt("absent", lambda: accel(b, chip))
    emu.present = True
    # bit flip in the ID read, then in the configuration read-back
    emu.flip_next = 0x01
    attempt("flip_id", lambda: accel(b, chip))
    a = accel(b, chip)
    emu.flip_next = 0x10
    attempt("flip_cfg", lambda: a.configure(a.MAX_RATE, 8))
    attempt("cfg_retry", lambda: a.configure(a.MAX_RATE, 8))
    s = Sampler(a, b.clock, 512, irq=b.int_pin())
    attempt("window1", s.acquire)
    # stuck bus in the middle of the stream
    bus.stuck = True
    attempt("stuck", lambda: s.acquire(restart=False))
    dropped_after_stuck = s.dropped
    bus.stuck = False
    attempt("after_stuck", lambda: s.acquire(restart=False))
    # the chip stops producing data
    emu.dead = True
    attempt("dead", s.acquire)
    emu.dead = False
    attempt("revived", s.acquire)
    out["dropped"] = [dropped_after_stuck, s.dropped]
    out["windows"] = s.windows
    out["last"] = s.last_error
    return out


def adxl355_framing(args):
    from sensors.convert import be24_axes_into
    def word(v, x):
        w = ((v & 0xFFFFF) << 4) | (1 if x else 0)
        return bytes([(w >> 16) & 0xFF, (w >> 8) & 0xFF, w & 0xFF])
    good = b"".join(word(v, i % 3 == 0) for i, v in enumerate([16, -32, 256000, 48, -64, -256000]))
    bad_marker = good[:9] + word(48, False) + good[12:]           # set 2 lost its X marker
    empty = good[:9] + bytes([0, 0, 2]) + good[12:]                # set 2 starts with an empty word
    buf = array.array("h", bytes(12))
    n1 = be24_axes_into(buf, 0, good, 2)
    v1 = list(buf)
    n2 = be24_axes_into(buf, 0, bad_marker, 2)
    n3 = be24_axes_into(buf, 0, empty, 2)
    return {"n": [n1, n2, n3], "v": v1}


if __name__ == "__main__":
    from harness import main
    main(globals())
