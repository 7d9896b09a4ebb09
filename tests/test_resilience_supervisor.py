"""Supervision: crash traceback saved and published after the next boot, safe mode after three
quick crash-reboots (reported on status, sticky until a reboot command), reset cause in the
birth message, and a watchdog that is fed only while sampler and link make progress."""
import json
import os
import subprocess
import time

import paho.mqtt.client as mqtt

from conftest import MPY, Subscriber, mpy_env, mpy_result, node_config, start_node, write_fs

BASE = "vibenode/plant1/sim-0001/"

CRASHING = r'''
import features.engine as fe
def boom(self, *a):
    raise ZeroDivisionError("injected fault in compute")
fe.FeatureEngine.compute = boom   # every boot crashes in its first window
import hostboot
hostboot.run(max_boots=6, cycles=3)
print("hostboot returned")
'''


def test_crash_loop_safe_mode_traceback_and_recovery(broker, tmp_path):
    sub = Subscriber(broker.port)
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    r = subprocess.run([MPY, "-c", CRASHING], cwd=fs, env=mpy_env(), capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "hostboot returned" in out, out[-3000:]
    assert out.count("hostboot: reset") == 3, out[-3000:]  # three crash-reboots, then safe mode held
    assert sub.wait_for(lambda m: m[0] == BASE + "status" and b'"safe_mode": true' in m[1], 10)
    time.sleep(0.5)
    crashes = [json.loads(p) for t, p, rt in list(sub.msgs) if t == BASE + "event" and b'"crash"' in p]
    assert len(crashes) == 3, crashes  # boots 2, 3, 4 each publish the previous boot's crash
    assert [c["boot"] for c in crashes] == [1, 2, 3]
    for c in crashes:
        assert "ZeroDivisionError: injected fault in compute" in c["trace"] and "engine" not in c["trace"][:0]
    births = [json.loads(p) for t, p, rt in list(sub.msgs) if t == BASE + "status" and b'"online"' in p]
    assert [b["boot"]["quick_crashes"] for b in births] == [0, 1, 2, 3]
    assert births[0]["reset_cause"] == "power_on" and births[1]["reset_cause"] == "hard"
    safe = births[-1]
    assert safe["safe_mode"] is True and safe["sensors"] == []  # network + provisioning only
    assert not os.path.exists(os.path.join(fs, "crash.txt"))  # published, then removed
    # the next power-on (no fault any more) stays in safe mode until told to reboot; the host board's
    # clock in real time from here (a safe-mode node has no sensor to pace its emulated clock, which
    # then ran hours ahead in seconds: keepalive pings "timed out" before the broker could answer,
    # the session was dropped and remade, and the reboot command, sent in such a gap, was lost)
    with open(os.path.join(fs, "config.json")) as f:
        cfg = json.load(f)
    cfg["board"]["realtime"] = True
    with open(os.path.join(fs, "config.json"), "w") as f:
        json.dump(cfg, f)
    node = start_node(fs, cycles=None)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sup-cmd")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    try:
        n0 = len(sub.msgs)
        m = sub.wait_for(lambda m: m[0] == BASE + "status" and b'"boots": 5' in m[1], 20)
        assert m and json.loads(m[1])["safe_mode"] is True and json.loads(m[1])["reset_cause"] == "power_on"
        c.publish(BASE + "cmd", json.dumps({"id": "rb", "cmd": "reboot"}), qos=1)
        m = sub.wait_for(lambda m: m[0] == BASE + "status" and b'"boots": 6' in m[1], 20)
        assert m, [x for x in sub.msgs[n0:] if x[0].endswith("status")]
        st = json.loads(m[1])
        assert st["safe_mode"] is False and st["sensors"] and st["boot"]["quick_crashes"] == 0
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry", 20)  # measuring again
    finally:
        node.kill()
        node.wait()
        c.loop_stop()
        c.disconnect()
        sub.close()


WDT_RUN = r'''
import json, os
import machine
from simclock import SimClock
machine._clock = clock = SimClock()
from vibenode.supervisor import Supervisor
class B:
    def reset_cause(self): return "power_on"
    def wdt(self, t): return machine.WDT(timeout=t)
os.mkdir("fs"); os.chdir("fs")
s = Supervisor(B(), clock)
s.start_wdt(8000, {"sampler": 5000, "link": 3000})
w = machine.WDT.instance
out = {"fed": []}
for i in range(20):                  # both make progress every second: fed
    clock.sleep_ms(1000); s.progress("sampler"); s.progress("link"); out["fed"].append(s.feed())
out["expired_ok"] = w.expired()
stalled = []
for i in range(15):                  # the sampler stops (a hung bus), the link still runs
    clock.sleep_ms(1000); s.progress("link"); stalled.append(s.feed())
out["stalled_fed"] = stalled
out["stalled"] = s.stalled()
out["expired"] = w.expired()
print("RESULT " + json.dumps(out))
'''


def test_watchdog_fed_only_on_progress(tmp_path):
    r = mpy_result(WDT_RUN, cwd=str(tmp_path))
    assert all(r["fed"]) and not r["expired_ok"]
    # fed while the sampler's silence is within its 5 s limit, then never again
    assert r["stalled_fed"][:5] == [True] * 5 and not any(r["stalled_fed"][5:])
    assert r["stalled"] == ["sampler"]
    assert r["expired"]  # the chip would reset
