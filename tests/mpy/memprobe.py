# Heap probe for the memory model (tools/memory.py) and the whole-node heap test. Runs on the
# unix port (64-bit or the 32-bit build); working directory = the node's filesystem.
#
#   memprobe.py world              the host board's emulated world alone: its code and one board
#   memprobe.py code MOD [MOD ..]  the world, then the node's modules: the heap those take
#   memprobe.py node CYCLES        boot the node for CYCLES windows: the heap after, the modules kept,
#                                  the interned names (micropython.qstr_info())
#   memprobe.py imports CYCLES     the same run, recording every module it ever loaded (cold ones too;
#                                  an import hook: not for heap figures)
#
# Prints one line `RESULT <json>`; figures are gc.mem_alloc() after a collection.
import gc
import json
import sys

gc.collect()
_start = gc.mem_alloc()
WORLD = ("hostboot", "board", "machine", "network", "simclock", "simulator", "recording", "ussl", "emulators")


def world():
    import hostboot, board, machine, network, simclock, simulator  # noqa: F401
    with open("config.json") as f:
        cfg = json.load(f)
    b = board.make(cfg)
    gc.collect()
    return b


def main():
    mode = sys.argv[1]
    if mode == "world":
        b = world()
        print("RESULT " + json.dumps({"start": _start, "world": gc.mem_alloc()}))
        return b
    if mode == "code":
        b = world()
        w = gc.mem_alloc()
        for m in sys.argv[2:]:
            __import__(m)
        gc.collect()
        print("RESULT " + json.dumps({"start": _start, "world": w, "code": gc.mem_alloc() - w}))
        return b
    if mode == "imports":
        import builtins
        seen = {}
        orig = builtins.__import__

        def rec(*a):
            try:
                return orig(*a)
            finally:
                for k in sys.modules:
                    seen[k] = 1
        builtins.__import__ = rec
    if mode in ("node", "imports"):
        import hostboot, machine  # noqa: F401  (the world, as a boot has it)
        import vibenode.app
        node = vibenode.app.main(int(sys.argv[2]))
        if mode == "imports":
            for k in seen:
                print("IMPORTED " + k)
            return None
        gc.collect()
        total = gc.mem_alloc()
        import micropython
        micropython.qstr_info()
        for k in sys.modules:  # one line each: no large string in a full heap
            if k.split(".")[0] not in WORLD:
                print("MODULE " + k)
        res = {"start": _start, "total": total}
        if node is not None:
            res["counters"] = node.counters()
            res["errors"] = node.errors
            res["commands"] = node.cmds.received
        print("RESULT " + json.dumps(res))
        return node


main()
