# Helpers shared by the sensor, emulator and sampler test modules: a host board with given chips,
# the detected driver, the emulated bus a chip sits on, bus traces as JSON-friendly lists.
import binascii

import board
from sensors import detect

STILL = {"noise_g": 0.0, "imbalance_g": [0, 0, 0], "gravity_g": [0, 0, 1.0],
         "temperature": {"start_c": 25.0, "drift_c_per_h": 0.0}}


def mk(chips, sim=None):
    return board.make({"board": {"name": "host", "chips": chips, "sim": sim or STILL}})


def accel(b, chip):
    return detect.find_accel(b, {"sensors": {"accel": {"chip": chip}}})


def bus_of(b, spec):
    return b.i2c_bus if "@i2c" in spec else b.spi_bus


def emu_of(b, spec):
    return b.chips[spec]


def tr(trace):
    out = []
    for e in trace:
        out.append([x if isinstance(x, (int, str)) else binascii.hexlify(x).decode() for x in e])
    return out


def err_name(e):
    return getattr(e, "name", None) or type(e).__name__
