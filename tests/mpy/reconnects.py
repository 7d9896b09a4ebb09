# 1000 reconnect cycles of a real Node's link against Mosquitto (argv[1] = port): each cycle
# connects (birth, subscribe, link_up event), sends a reading and a command round trip, then
# the session is dropped as by a network failure. Heap free (after a collection) per cycle.
import gc
import json
import sys

import board as board_mod
from vibenode import config
from vibenode.node import Node

N = int(sys.argv[1])
cfg = config.load()
node = Node(cfg, board_mod.make(cfg))
link = node.link
clock = node.clock
rep = {"node": cfg["node_id"], "seq": 0, "ts": clock.time(), "rate": 3200.0, "n": 2048, "odr": 3200,
       "x": {"rms": 0.7}, "y": {"rms": 0.0}, "z": {"rms": 0.0}}
heap = [0] * N  # preallocated: a growing list would itself look like a leak
ok = 0
for i in range(N):
    clock.sleep_ms(link.backoff_max_ms + 1000)  # backoff elapsed (emulated time)
    if link.connect():
        rep["seq"] = node.seqc.take()
        node.publish_reading(rep)
        node.cmds.on_message(node.topics.cmd.encode(), b'{"id": "c%d", "cmd": "ping"}' % i, None, 0)
        node.cmds.process()
        link.service()
        ok += 1
    link.drop("test")
    gc.collect()
    heap[i] = gc.mem_free()
for i in range(0, N, 50):  # in lines: one 7 KB string would need a free block that size
    print("HEAP " + " ".join(str(h) for h in heap[i:i + 50]))
print("RESULT " + json.dumps({"ok": ok, "connects": link.connects, "queued": len(node.queue), "sent": node.sent,
                              "answered": node.cmds.answered}))
