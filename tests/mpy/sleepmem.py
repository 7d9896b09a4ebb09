# The sleep mode's heap cost (docs/memory.md): vibenode/duty.py's code as imported, and the data the
# RTC memory holds after 100 wakes, decoded. Prints RESULT {"code", "rtc_state", "rtc_bytes", "bits"}.
import gc
import json
import sys

import store.seqno  # noqa: F401  (a node has these loaded already)
import vibenode.log  # noqa: F401

gc.collect()
a = gc.mem_alloc()
import vibenode.duty  # noqa: E402,F401

gc.collect()
b = gc.mem_alloc()
blob = json.dumps({"replayed": 21, "node": "sim-0001", "awake_ms": 640, "sent": 79, "awake_total_ms": 115000,
                   "dropreps": 0, "seq": 101, "queued": 20, "zone": 0, "alarms": [0, 0], "failures": 60,
                   "connects": 80, "wakes": 100}).encode()
gc.collect()
c = gc.mem_alloc()
st = json.loads(blob)
gc.collect()
d = gc.mem_alloc()
print("RESULT " + json.dumps({"code": b - a, "rtc_state": d - c, "rtc_bytes": len(blob),
                              "bits": 64 if sys.maxsize > 2 ** 32 else 32}))
