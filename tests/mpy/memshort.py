# A node short of heap (tests/test_resilience_heap.py): a real Node on the host board (no broker:
# readings are queued). One window with heap; then windows with the heap full but for `keep`
# bytes (ballast, tests/mpy/cmdpeak.py's squeeze): each is dropped, counted and named on status,
# and the node does not raise; with the ballast gone the next reading carries the count and the
# error clears. Working directory: a node filesystem with config.json. On a board: call short({}).
import gc
import sys

import board as board_mod
from cmdpeak import release, squeeze
from vibenode import drop
from vibenode.node import Node


def short(args):
    from vibenode import config
    cfg = config.load()
    config = None
    drop("vibenode.config")
    node = Node(cfg, board_mod.make(cfg))
    cfg = None
    node.window()  # with heap: the first reading (and its alarms: ISO zone)
    queued0 = len(node.queue)
    raised = None
    squeeze(args.get("keep", 256))
    try:
        for _ in range(args.get("windows", 3)):
            node.window()
    except Exception as e:  # (the window() contract: nothing escapes)
        raised = repr(e)
        sys.print_exception(e)
    release()
    gc.collect()
    short_err = node.errors.get("memory")
    dropped = node.sense.windows_dropped
    node.window()  # with heap again
    return {"raised": raised, "error_while_short": short_err, "dropped": dropped,
            "queued_short": len(node.queue) - queued0, "error_after": node.errors.get("memory"),
            "dropped_after": node.sense.windows_dropped, "queued_after": len(node.queue) - queued0,
            "word": 8 if sys.maxsize > 1 << 32 else 4}


if __name__ == "__main__":
    import harness
    harness.main(globals())
