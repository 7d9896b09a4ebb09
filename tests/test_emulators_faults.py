"""Injected faults (absent chip, stuck bus, bit flip, dead chip) give named errors and the
driver/sampler recover once the fault is gone; nothing crashes."""
import pytest

from conftest import mpy_result
from sensors_mpy import PRE

SPECS = ["adxl345@i2c0:0x53", "adxl345@spi1:5", "lis3dh@i2c0:0x18", "lis3dh@spi1:5", "mpu6050@i2c0:0x68",
         "adxl355@i2c0:0x1D", "adxl355@spi1:5"]


@pytest.mark.parametrize("spec", SPECS)
def test_every_fault_is_named_and_recovered_from(spec):
    r = mpy_result(PRE + r'''
from window.sampler import Sampler
spec = %r
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
result(out)
''' % spec)
    absent = r["absent"]
    assert absent[0] == "absent" and "no accelerometer" in absent[1]
    flip = r["flip_id"]
    assert flip[0] == "absent" and "wrong_id" in flip[1]  # named per slot tried
    assert r["flip_cfg"][0] == "config_rejected"
    assert r["cfg_retry"] == "ok" and r["window1"] == "ok"
    stuck = r["stuck"][0]
    if "@i2c" in spec:
        assert stuck == "bus_timeout"
    else:
        assert stuck in ("fifo_corrupt", "absent")  # MISO stuck high reads impossible status
    assert r["after_stuck"] == "ok"
    assert r["dead"][0] == "no_data"
    assert r["revived"] == "ok"
    assert r["dropped"] == [1, 2]  # each failed window is discarded and counted
    assert r["windows"] == 3


def test_adxl355_framing_check_on_axis_markers():
    r = mpy_result(PRE + r'''
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
result({"n": [n1, n2, n3], "v": v1})
''')
    assert r["n"] == [2, 1, 1]
    assert r["v"] == [1, -2, 16000, 3, -4, -16000]  # 20-bit >> 4
