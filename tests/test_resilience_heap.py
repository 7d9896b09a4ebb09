"""Memory: 1000 reconnect cycles show no downward heap trend; the reporting path runs in a
24 KB share of a 64 KB data heap; the whole node runs through a broker outage in a bounded heap.

The unix port loads every module's bytecode into the heap, as a device does with .mpy files
(frozen code stays in flash). The whole-node budgets are the node's code + data, with the host
board's emulated world (measured alone, tests/mpy/memprobe.py) on top."""
import json
import os
import subprocess
import time

import numpy as np
import pytest

from conftest import MPY, ROOT, Broker, Subscriber, free_port, mpy_env, node_config, start_node, write_fs
from netfaults import BlackholeProxy


def test_thousand_reconnect_cycles_no_heap_trend(broker, tmp_path):
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    # (288 KB: the script keeps the config code loaded and an 8 KB list, and each command batch loads
    # the handler's code; the whole node's own budget is test_whole_node_within_its_budget_x64)
    r = subprocess.run([MPY, "-X", "heapsize=288k", os.path.join(ROOT, "tests", "mpy", "reconnects.py"), "1000"],
                       cwd=fs, env=mpy_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
    res["heap"] = [int(h) for ln in r.stdout.splitlines() if ln.startswith("HEAP ") for h in ln.split()[1:]]
    assert len(res["heap"]) == 1000
    assert res["ok"] == 1000 and res["connects"] == 1000 and res["sent"] == 1000 and res["queued"] == 0
    assert res["answered"] == 1000  # every command answered (the handler's code is loaded for each)
    heap = np.array(res["heap"][50:], float)  # after warm-up (first imports, caches)
    slope = np.polyfit(np.arange(len(heap)), heap, 1)[0]  # bytes per cycle
    print("reconnect heap: free %d..%d bytes, slope %.3f bytes/cycle" % (heap.min(), heap.max(), slope))
    # no downward trend: less than 1 KB lost over 950 cycles, and the last 100 cycles not below the first 100
    assert slope * len(heap) > -1024, slope
    assert heap[-100:].mean() >= heap[:100].mean() - 512


DATA_BUDGET = 24 * 1024  # what the reporting path may use of the node's 64 KB data heap

# The whole node's budgets (docs/memory.md; measured by `make memory`, tools/memory.py): the code a
# boot keeps, and the heap the whole node runs in (3 x 2048 at 3200 Hz, full features, readings queued
# through a broker outage and replayed, a command, Mosquitto) over the host board's emulated world,
# measured alone. The device-fit issue's targets (32-bit interpreter, an ESP32's object sizes): code
# <= 60 KB, whole node <= 120 KB.
# 32-bit, measured (`make memory MPY32=...`): code 52.3 KB, node 120.3 KB in two runs (smallest heap
# 164 KB - world 43.7 KB; 119.6 KB the round before); budgets 54 / 126 KB (the smallest-heap search
# moves by 1-2 KB per run).
# Before this round: code 63.1 KB, node 140.6 KB.
# 64-bit port (pointers and objects twice the size), measured with the same code: code 71.6 KB, node
# 158.0 KB (smallest heap 219 KB - world 61.0 KB); budgets a few KB above, and the check is shown to
# fail 12 KB under the measured node figure (test_whole_node_budget_check_can_fail).
X64_CODE_BUDGET = 75 * 1024
X64_NODE_MEASURED = 158 * 1024
X64_NODE_BUDGET = 166 * 1024
I386_CODE_BUDGET = 54 * 1024
I386_NODE_MEASURED = 120 * 1024
I386_NODE_BUDGET = 126 * 1024
MPY32 = os.environ.get("MPY32") or os.path.join(os.path.dirname(ROOT), "shared", "tools", "micropython-i386",
                                                "micropython")
if not os.path.exists(MPY32):
    MPY32 = "/work/shared/tools/micropython-i386/micropython"


def _result(r):
    return json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])


def test_reporting_path_heap_budget(broker, tmp_path):
    """The reporting path (MQTT link, queue, sequence counter, encoding, alarms, command handler)
    runs in its code plus 24 KB of heap, leaving 40 KB of a 64 KB data heap to the sampler and
    the feature engine: 100 readings queued while the broker is unreachable, replayed in order,
    400 live readings with a command each."""
    sub = Subscriber(broker.port)
    fs = str(tmp_path / "fs")
    os.makedirs(fs)
    script = os.path.join(ROOT, "tests", "mpy", "reporting64k.py")
    r = subprocess.run([MPY, "-X", "heapsize=1m", script, "base"], cwd=fs, env=mpy_env(), capture_output=True,
                       text=True, timeout=60)
    base = _result(r)["base"]
    heap = (base + DATA_BUDGET + 1023) // 1024
    r = subprocess.run([MPY, "-X", "heapsize=%dk" % heap, script, str(broker.port)], cwd=fs, env=mpy_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = _result(r)
    print("reporting path: code %d bytes, run in %d KB heap: %s" % (base, heap, res))
    assert res["queued"] == 0 and res["acks"] == 400
    assert sub.wait_for(lambda m: m[0].endswith("/telemetry") and json.loads(m[1])["seq"] == 500, 20)
    tel = sub.json_on("telemetry")
    sub.close()
    assert [m["seq"] for m in tel] == list(range(1, 501))
    assert all(m.get("replayed") for m in tel[:100]) and not any(m.get("replayed") for m in tel[101:])
    assert all(len(json.dumps(m)) < 1024 for m in tel)  # 3 axes with peaks and bands under 1 KB


def _code_and_world(mpy):
    """(resident code of a boot, the host board's world) in bytes, on interpreter `mpy`."""
    import memory
    probe = memory.Probe(mpy, memory.build_tree(memory.arch_of(mpy)))
    res, log = probe.run(["node", 12], outage=True)
    assert res is not None, log[-3000:]
    w, _ = probe.run(["world"])
    c, log = probe.run(["code"] + res["modules"])
    assert c is not None, log[-3000:]
    return probe, c["code"], w["world"]


def check_node_budget(mpy, code_budget, node_budget, cycles=40):
    """The code a boot keeps within code_budget, and the whole node (3 x 2048 at 3200 Hz, full
    features, readings queued through a broker outage and replayed, Mosquitto) runs in the host
    board's world + node_budget of heap; returns the figures."""
    probe, code, world = _code_and_world(mpy)
    heap = (world + node_budget) // 1024
    ok = probe.node_ok(heap, cycles)
    print("%s: code %.1f KB (budget %.1f), node in world %.1f KB + %.1f KB = %d KB heap: %s"
          % (os.path.basename(mpy), code / 1024, code_budget / 1024, world / 1024, node_budget / 1024, heap,
             "ok" if ok else "FAILED"))
    return code, ok


def test_whole_node_within_its_budget_x64():
    import memory
    if memory.arch_of(MPY) != "x64":  # (`make test-32`: the 32-bit figures are the test below's)
        pytest.skip("a 32-bit interpreter: test_whole_node_within_its_budget_i386 checks its figures")
    code, ok = check_node_budget(MPY, X64_CODE_BUDGET, X64_NODE_BUDGET)
    assert code <= X64_CODE_BUDGET, code
    assert ok


def test_whole_node_within_its_budget_i386():
    """The device figures themselves, on the 32-bit interpreter (../shared/tools/micropython-i386 or
    $MPY32): code <= 54 KB, whole node <= 126 KB (targets 60 / 120 KB, see above)."""
    if not os.path.exists(MPY32):
        pytest.skip("no 32-bit MicroPython (MPY32=<path>): the x64 budgets above stand in for it")
    code, ok = check_node_budget(MPY32, I386_CODE_BUDGET, I386_NODE_BUDGET)
    assert code <= I386_CODE_BUDGET, code
    assert ok


def test_whole_node_budget_check_can_fail():
    """The same check fails 12 KB under the measured figure (so the budgets above are real), on
    the interpreter the run uses (the 64-bit port, or the 32-bit one in `make test-32`)."""
    import memory
    if memory.arch_of(MPY) == "x86":
        code_budget, measured = I386_CODE_BUDGET, I386_NODE_MEASURED
    else:
        code_budget, measured = X64_CODE_BUDGET, X64_NODE_MEASURED
    code, ok = check_node_budget(MPY, code_budget, measured - 12 * 1024, cycles=40)
    assert not ok
    assert code > code_budget - 8 * 1024  # and the code budget is tight: 8 KB less would fail


# The IIS3DWB node (issue 11), x streamed (the default on a heap without PSRAM), 6 windows of 1.23 s,
# the same outage, replay and command (`make memory MPY32=... CHIP=iis3dwb`): measured 116.0-118.0 KB
# (117.2 KB: smallest heap 168 KB - world 50.8 KB); budget 124 KB, and 12 KB under the measured figure fails.
I386_WIDE_MEASURED = 117 * 1024
I386_WIDE_BUDGET = 124 * 1024


def test_iis3dwb_node_within_its_budget_i386():
    if not os.path.exists(MPY32):
        pytest.skip("no 32-bit MicroPython (MPY32=<path>): the wide-band node's device figure needs it")
    import memory
    probe = memory.Probe(MPY32, memory.build_tree("x86"), chip="iis3dwb", stream_axes=1)
    w, log = probe.run(["world"])
    assert w is not None, log[-3000:]
    heap = (w["world"] + I386_WIDE_BUDGET) // 1024
    ok = probe.node_ok(heap, 6)
    short = probe.node_ok((w["world"] + I386_WIDE_MEASURED - 12 * 1024) // 1024, 6)
    print("iis3dwb node, x streamed: world %.1f KB + %.1f KB = %d KB heap: %s; 12 KB under the measured figure: %s"
          % (w["world"] / 1024, I386_WIDE_BUDGET / 1024, heap, "ok" if ok else "FAILED", "ok" if short else "fails"))
    assert ok
    assert not short


def test_whole_node_bounded_heap_through_an_outage(tmp_path):
    """The whole node (default 2048-sample window, 3 axes, default features, queue, MQTT) in the
    host board's world + X64_NODE_BUDGET: 120 readings, the first ones queued while the broker is
    down, replayed in order, none lost (seen by a subscriber)."""
    port = free_port()
    fs = write_fs(str(tmp_path / "fs"), node_config(port))
    r = subprocess.run([MPY, "-X", "heapsize=1m", os.path.join(ROOT, "tests", "mpy", "memprobe.py"), "world"],
                       cwd=fs, env=mpy_env(), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    world = _result(r)["world"]
    for f in os.listdir(fs):
        if f != "config.json":
            p = os.path.join(fs, f)
            if os.path.isfile(p):
                os.remove(p)
    heap = (world + X64_NODE_BUDGET + 1023) // 1024
    print("whole node: host world %d bytes, heap %d KB" % (world, heap))
    node = start_node(fs, cycles=120, heapsize="%dk" % heap)
    lines = []
    broker = sub = gate = None
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # the broker is down for the first readings: queued
            ln = node.stdout.readline()
            if not ln:
                break
            lines.append(ln)
            if "queued (10)" in ln:
                break
        # the broker comes up, the subscriber is in, then the node's port opens (a forwarder),
        # so the subscriber cannot miss the replay
        broker = Broker()
        sub = Subscriber(broker.port)
        gate = BlackholeProxy(broker.port, port=port)
        out, _ = node.communicate(timeout=120)
        out = "".join(lines) + out
        assert node.returncode == 0, out[-3000:]
        assert "MemoryError" not in out and "Traceback" not in out, out[-3000:]
        assert sub.wait_for(lambda m: m[0].endswith("/telemetry") and json.loads(m[1])["seq"] == 120, 30), out[-2000:]
        seqs = [m["seq"] for m in sub.json_on("telemetry")]
        assert seqs == list(range(1, 121)), (seqs, out[-3000:])
        assert sum(1 for m in sub.json_on("telemetry") if m.get("replayed")) >= 10
    finally:
        if node.poll() is None:
            node.kill()
        if sub:
            sub.close()
        if gate:
            gate.close()
        if broker:
            broker.stop()


def test_a_reading_without_heap_is_dropped_and_counted_not_a_crash(tmp_path):
    """A window whose reading finds no heap (ballast fills all but 256 bytes) is dropped: the
    node does not raise (before, the MemoryError from the feature engine's result() restarted
    the chip), `memory` is named on status while it lasts, the drops are counted, and with heap
    back the next reading is queued and the error clears (tests/mpy/memshort.py)."""
    from conftest import mpy_case
    fs = write_fs(str(tmp_path / "fs"), node_config(free_port()))
    r = mpy_case("memshort", "short", {"keep": 256, "windows": 3}, cwd=fs, heapsize="1m", timeout=120)
    print(r)
    assert r["raised"] is None, r
    assert r["error_while_short"] == "no heap for a reading: window dropped"
    # (a window may fail after its reading was queued: in the alarm or capture step after it)
    assert r["dropped"] == 3 and r["queued_short"] <= 1
    assert r["error_after"] is None and r["dropped_after"] == 3 and r["queued_after"] >= 1
