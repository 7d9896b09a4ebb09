# Feed length-prefixed command payloads (file argv[1]) to a real Node's command handler on
# the unix port and write one JSON line per payload (the ack, or null) to argv[2].
# Working directory: a node filesystem with config.json.
import gc
import json
import struct
import sys

import board as board_mod
from vibenode import config
from vibenode.node import Node

cfg = config.load()
node = Node(cfg, board_mod.make(cfg))
topic = node.topics.cmd
crashes = 0
answered = 0
heap = []
with open(sys.argv[1], "rb") as f, open(sys.argv[2], "w") as out:
    i = 0
    while True:
        h = f.read(4)
        if len(h) < 4:
            break
        n = struct.unpack("<I", h)[0]
        msg = f.read(n)
        try:
            ack = node.cmds.handle(topic, msg)
        except Exception as e:  # a crash of the handler (must never happen)
            crashes += 1
            ack = {"crash": repr(e)}
        if ack is not None:
            answered += 1
            ack = json.dumps(ack)  # the ack must serialize (it is published as JSON)
        out.write((ack or "null") + "\n")
        msg = None
        i += 1
        if i % 500 == 0:
            gc.collect()
            heap.append(gc.mem_free())
print("RESULT " + json.dumps({"n": i, "crashes": crashes, "answered": answered, "heap": heap,
                              "interval_ms": node.interval_ms, "window": node.n,
                              "rules": node.alarms.rules}))
