# The node's sensing through sensor faults (tests/test_sensors_node.py): run in the node's
# filesystem (config.json there), no broker.


def sensor_faults(args):
    import board as board_mod
    from vibenode import config
    from vibenode.node import Node
    cfg = config.load()
    b = board_mod.make(cfg)
    node = Node(cfg, b)            # no broker: status publishes just fail, measurement goes on
    out = {}
    out["ok1"] = sorted(node.reading(False))
    b.i2c_bus.stuck = True         # the I2C bus hangs in the middle of the next window
    out["stuck"] = node.sense.measure()
    out["err"] = node.errors.get("accel")
    b.i2c_bus.stuck = False
    rep = node.reading(False)
    out["after"] = [rep.get("dropped"), "x" in rep, rep.get("temp_c"), node.errors.get("accel")]
    b.chips["adxl345@i2c0:0x53"].present = False   # the accelerometer is gone for good
    node.sense.measure()
    node.sense.measure()
    out["gone"] = [node.sense.accel is None, node.errors.get("accel")[:40]]
    rep = node.reading(False)
    out["temp_only"] = sorted(rep)
    out["sensors"] = node.sense.names()
    return out


if __name__ == "__main__":
    from harness import main
    main(globals())
