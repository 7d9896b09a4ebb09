"""The heap a command needs (issue 9: the peak of the node was command handling, which loaded
every handler and the whole control object for any command). A real node on the host board
handles one command of each family, and the envelope's rare cases, through its inbox as a
command arrives at a node that handled none for a while (tests/mpy/cmdpeak.py): the least free
heap each needs (ballast holds the rest of the heap, code loading included) stays within a bound,
and once the inbox is idle no module of command handling is left in the heap.

Bounds (bytes of free heap) per word size: 32-bit is an ESP32's object sizes (VN_MPY=<32-bit
micropython>, `make test-32`), 64-bit the x64 port. Measured when they were set (32 / 64-bit):
ping 8.6 / 10.7 KB, other commands 9.2-11.2 / 10.7-16.1 KB, set and set_thresholds (they load
config's validator to save config.json) 33.4-34.4 / 53.4-54.7 KB. Before the handlers were split
up (32-bit): 10.6-11.3 KB for any command but set (43.2) and set_thresholds (38.3), with another
1.3 KB (vibenode/cmdcheck.py) resident for good after the first command."""
from conftest import mpy_case, node_config, write_fs

KB = 1024
# family -> (32-bit bound, 64-bit bound)
BOUND = {"ping": (10 * KB, 13 * KB), "command": (13.5 * KB, 20.5 * KB), "config": (40 * KB, 63 * KB)}
FAMILY = {"ping": "ping", "set": "config", "set_thresholds": "config"}
# what each case answers with plenty of heap (the ack's ok)
OK = {"ping": True, "get_config": True, "capture": True, "identify": True, "reboot": True, "decommission": True,
      "ota": False, "baseline.get": False, "set": True, "set_thresholds": True, "expires": True, "retained": False,
      "too_large": False}


def test_each_command_family_within_its_heap_bound(tmp_path):
    fs = write_fs(str(tmp_path / "fs"), node_config(1883))
    r = mpy_case("cmdpeak", "peak", {}, cwd=fs, heapsize="2m", timeout=300)
    word = r["word"]
    cases = r["cases"]
    assert sorted(cases) == sorted(OK)
    rows = []
    for name in sorted(cases, key=lambda n: cases[n]["need"]):
        c = cases[name]
        fam = FAMILY.get(name, "command")
        bound = BOUND[fam][0 if word == 4 else 1]
        rows.append("%-15s need %6.1f KB (bound %4.1f KB)  left %5d B  %s"
                    % (name, c["need"] / KB, bound / KB, c["left"], c["error"] or "ok"))
    print("%d-bit:\n  " % (word * 8) + "\n  ".join(rows))
    for name, c in cases.items():
        assert c["ok"] is OK[name], (name, c)
        assert c["after"] == [], "%s left command handling loaded: %s" % (name, c["after"])
        bound = BOUND[FAMILY.get(name, "command")][0 if word == 4 else 1]
        assert c["need"] <= bound, "%s needs %d B of free heap, bound %d" % (name, c["need"], bound)
