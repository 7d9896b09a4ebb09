# The heap one command needs (tests/test_commands_peak.py): a real Node on the host board (no
# broker: acks are built, not sent), one command of each family (and the envelope's rare cases)
# through the node's inbox, arriving at a node that has handled none for a while (the dispatcher
# and control are loaded for it). For each command:
#   need   the least free heap (after a collection; ballast holds the rest) in which it is handled
#          as it is with plenty of heap: its peak over the steady heap, code included, in 64-byte
#          steps (the decoded ack that Inbox.handle returns is counted in)
#   left   what stays once the inbox went idle and dropped the handler (gc.mem_alloc() growth)
#   after  the modules of command handling still loaded then (none may be)
# Working directory: a node filesystem with config.json. On a board: import and call peak({}).
import gc
import json
import sys

import board as board_mod
from vibenode import drop
from vibenode.node import Node

# (name, payload, retained): one command of each family, and the envelope's rare cases
CASES = (
    ("ping", {"cmd": "ping"}, False),
    ("get_config", {"cmd": "get_config"}, False),
    ("capture", {"cmd": "capture", "kind": "waveform", "axis": "x"}, False),
    ("identify", {"cmd": "identify", "seconds": 5}, False),
    ("reboot", {"cmd": "reboot"}, False),
    ("decommission", {"cmd": "decommission"}, False),
    ("ota", {"cmd": "ota", "version": "bad/version"}, False),
    ("baseline.get", {"cmd": "baseline.get"}, False),
    ("set", {"cmd": "set", "interval_s": 2}, False),
    ("set_thresholds", {"cmd": "set_thresholds", "rules": [{"metric": "rms", "warn": 1, "alarm": 2}]}, False),
    ("expires", {"cmd": "ping", "expires": 4000000000}, False),
    ("retained", {"cmd": "reboot"}, True),
    ("too_large", {"cmd": "ping", "pad": "p" * 5000}, False),
)
# modules of command handling: none may stay once the inbox is idle
HANDLING = ("vibenode.commands", "vibenode.control", "vibenode.cmdcheck", "vibenode.config", "vibenode.cfgspec",
            "vibenode.blcmds", "vibenode.lastgood")


def _loaded():
    return sorted(k for k in sys.modules if k in HANDLING or k.startswith("vibenode.cmd_"))


def _idle(node):
    for _ in range(4):  # process() without a message: the inbox drops the handler (vibenode/node.py)
        node.cmds.process()


_BALLAST = [None] * 4096  # (allocated once: a list grown while the heap is full would fail)


def squeeze(keep):
    """Fill the heap but one free region of `keep` bytes: a block of that size is held, ballast
    fills everything else (large chunks to single blocks, so the holes too), the block goes.
    release() frees the ballast."""
    gc.collect()
    hold = [bytearray(keep - 16) if keep > 16 else None]
    i = 0
    for size in (16384, 4096, 1024, 256, 64, 32):
        while i < len(_BALLAST):
            try:
                _BALLAST[i] = bytearray(size - 16)
            except MemoryError:
                break
            i += 1
    while i < len(_BALLAST):  # single blocks: a float is one heap object
        try:
            _BALLAST[i] = i + 0.5
        except MemoryError:
            break
        i += 1
    hold[0] = None
    gc.collect()


def release():
    for i in range(len(_BALLAST)):
        _BALLAST[i] = None


def _ack(node, msg, retained):
    try:
        return node.cmds.handle(node.topics.cmd, msg, msg[:160], len(msg), retained)
    except MemoryError:  # (loading the handler: Inbox.process says so and keeps the message)
        return None
    finally:
        _idle(node)


def _same(a, b):
    return a is not None and a.get("ok") == b.get("ok") and a.get("error") == b.get("error")


def one(node, name, payload, retained):
    req = dict(payload)
    req["id"] = "pk-%s-00" % name  # (ids of one length: the too-large error names the size)
    gc.collect()
    a = gc.mem_alloc()
    ref = _ack(node, json.dumps(req).encode(), retained)  # with plenty of heap (also interns the code's names once)
    node.capture_req = None
    gc.collect()
    left = gc.mem_alloc() - a
    after = _loaded()
    lo, hi = 0, 65536  # handled in hi bytes, not in lo
    k = 0
    while hi - lo > 64:
        mid = (lo + hi) // 2
        k += 1
        req["id"] = "pk-%s-%02d" % (name, k)  # (a new id: state-changing commands apply once per id)
        if retained:
            req["pad"] = k  # (a retained message is answered once: another one)
        msg = json.dumps(req).encode()
        squeeze(mid)
        ack = _ack(node, msg, retained)
        release()
        msg = None
        node.capture_req = None  # (a capture asked for is served with the next window: none comes here)
        if _same(ack, ref):
            hi = mid
        else:
            lo = mid
    return {"need": hi, "left": left, "after": after, "ok": ref.get("ok"), "error": ref.get("error")}


def peak(args):
    from vibenode import config
    cfg = config.load()
    config = None
    drop("vibenode.config")  # (as a boot does: loaded for the config, dropped after)
    node = Node(cfg, board_mod.make(cfg))
    cfg = None
    _idle(node)
    out = {}
    for name, payload, retained in CASES:
        out[name] = one(node, name, payload, retained)
    return {"cases": out, "word": 8 if sys.maxsize > 1 << 32 else 4}


if __name__ == "__main__":
    import harness
    harness.main(globals())
