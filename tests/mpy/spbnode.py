# Sparkplug B on the unix port (tests/test_integrations_sparkplug.py):
#   wrap: the edge node (vibenode/sparkplug.py) on the real link (link/mqtt.py) to the test's
#         broker: NBIRTH, then `count` NDATA (seq 1..255, 0, 1, ...), heap allocated per NDATA
#   decode: link/spbread.py on payloads the test encoded with Google's protobuf runtime
import gc
import sys
import time

from harness import main
from link.mqtt import MqttLink
from link import spbread


def wrap(a):
    from vibenode.sparkplug import EdgeNode
    cfg = {"node_id": a["node"], "sparkplug": {"group": a["group"]}}
    link = MqttLink(a["node"], "127.0.0.1", a["port"], time, keepalive=10, timeout_s=5, backoff_min_ms=0)
    edge = EdgeNode(cfg, link, bytearray(2048), time, lambda *x: None)
    link.on_up = lambda lk: edge.on_up()
    if not link.connect():
        return {"error": link.last_error}
    rep = {"seq": 1, "temp_c": 21.5, "x": {"vel": 4.5, "rms": 0.7, "pk": 1.0, "f0": 24.7, "iso": "B"},
           "y": {"vel": 0.1, "rms": 0.01, "pk": 0.02, "f0": 50.0, "iso": "A"},
           "z": {"vel": 0.2, "rms": 0.02, "pk": 0.03, "f0": 99.5, "iso": "A"}}
    ok = 0
    edge.reading(rep)  # (first use: anything made once)
    gc.collect()
    a0 = gc.mem_alloc()
    for i in range(a["count"] - 1):
        rep["seq"] = i + 2
        ok += edge.reading(rep)
    per = (gc.mem_alloc() - a0) / (a["count"] - 1)
    link.service()
    link.disconnect()
    return {"ok": ok + 1, "births": edge.births, "alloc_per_ndata": per, "bd_next": edge.bd}


def decode(a):
    import binascii
    out = []
    for h in a["payloads"]:
        try:
            out.append([list(m) for m in spbread.decode(binascii.unhexlify(h))])
        except ValueError as e:
            out.append("ValueError: %s" % e)
    return out


if __name__ == "__main__":
    main(globals())
