"""Memory cost of the integrations on the device's object model (issue 14):

    .venv/bin/python tools/integ_memory.py [--mpy /work/shared/tools/micropython-i386/micropython]

Code (.mpy imported into the heap) and data of Home Assistant discovery and the Sparkplug B
edge node, measured with gc.mem_alloc() on the given interpreter (default $MPY32, else the x64
port) against the mpy-cross build for its architecture (tools/memory.py build_tree)."""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from memory import arch_of, build_tree, ROOT  # noqa: E402

PROBE = r'''
import gc, json, time
def a():
    gc.collect(); return gc.mem_alloc()
r = {}
a0 = a()
from link.mqtt import MqttLink
from report.topics import Topics
import vibenode
link = MqttLink("sim-0001", "127.0.0.1", 1883, time)
t = Topics("vibenode", "plant1", "sim-0001")
buf = bytearray(2048)  # (the outbox's encoder buffer on the node: shared, not counted)
base = a()
import vibenode.integrations
r["integrations_code"] = a() - base
b = a()
from vibenode.sparkplug import EdgeNode
r["sparkplug_code"] = a() - b
b = a()
cfg = {"node_id": "sim-0001", "site": "plant1", "sparkplug": {"group": "plant1"}}
e = EdgeNode(cfg, link, buf, time, None)
e.reading({"seq": 1, "temp_c": 21.5, "x": {"vel": 4.5, "rms": 0.7, "pk": 1.0, "f0": 24.7, "iso": "B"},
          "y": {"vel": 0.1, "rms": 0.01, "pk": 0.02, "f0": 50.0, "iso": "A"}})
r["sparkplug_data"] = a() - b
class B: NAME = "esp32_devkitc"; ARCH = "xtensawin"
b = a()
from vibenode import hadisc
r["ha_code_loaded"] = a() - b
d = hadisc.Discovery({"node_id": "sim-0001", "name": "Pump 7"}, t, "0.1.0", B, None)
gc.collect()
g0 = gc.mem_alloc()
peak = 0
size = 0
for p in d:
    size += len(p)
    gc.collect()
    peak = max(peak, gc.mem_alloc() - g0)  # live while one piece is held
r["ha_payload_bytes"] = size
r["ha_build_peak"] = peak
d = hadisc = None
vibenode.drop("vibenode.hadisc")
r["ha_after_drop"] = a() - b  # (interned names stay in the qstr pool: flash when frozen)
b = a()
from vibenode import hadisc
r["ha_code_reloaded"] = a() - b
hadisc = None
vibenode.drop("vibenode.hadisc")
r["ha_after_2nd_drop"] = a() - b
print("RESULT " + json.dumps(r))
'''


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mpy", default=os.environ.get("MPY32") or os.path.join(ROOT, ".venv", "bin", "micropython"))
    a = ap.parse_args(argv)
    arch = arch_of(a.mpy)
    tree = build_tree(arch)
    env = dict(os.environ, MICROPYPATH=os.path.join(tree, "lib"))
    out = subprocess.run([a.mpy, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if not line:
        sys.exit("probe failed:\n" + out.stdout + out.stderr)
    r = json.loads(line[0][7:])
    print("integrations memory on %s (%s):" % (a.mpy, arch))
    for k, v in r.items():
        print("  %-22s %6d bytes" % (k, v))


if __name__ == "__main__":
    main()
