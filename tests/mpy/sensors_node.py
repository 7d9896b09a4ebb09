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


def temp_search(args):
    """Detection runs after boot, over args["windows"] readings 1 s apart (the temperature
    sensor's backoff is 1 s doubling): how many times the node loaded the detection code, and
    the temperatures it reported. args["unplug"]: the window before which the chip
    args["spec"] stops answering."""
    import builtins
    import board as board_mod
    from vibenode import config
    from vibenode.node import Node
    cfg = config.load()
    b = board_mod.make(cfg)
    node = Node(cfg, b)
    loads = []  # the (simulated) times detection code was imported
    imp = builtins.__import__

    def counting(name, *a):
        if name == "sensors.detect" or (name == "sensors" and len(a) > 2 and a[2] and "detect" in a[2]):
            t = b.clock.ticks_ms()
            if t not in loads:  # (one `from sensors import detect` may come through here twice)
                loads.append(t)
        return imp(name, *a)

    builtins.__import__ = counting
    temps = []
    try:
        for i in range(args["windows"]):
            if args.get("unplug") == i:
                b.chips[args["spec"]].present = False
            rep = node.reading(False)
            temps.append(rep.get("temp_c"))
            b.clock.sleep_ms(1000)
    finally:
        builtins.__import__ = imp
    return {"loads": len(loads), "at": loads, "temps": temps, "error": node.errors.get("temp"), "sensors": node.sense.names()}


if __name__ == "__main__":
    from harness import main
    main(globals())
