"""Deep-sleep duty cycling (power.mode "sleep", firmware/vibenode/duty.py) end to end: the real unix
port through the mpy-cross build, a real Mosquitto. Each wake is one boot: hostboot boots the node
again after the host board's deep sleep (emulated time moves on by the sleep, RTC memory kept in
rtc.json), and a new process on the same directory wakes from it too (used here to put a broker
outage between wakes)."""
import json
import os
import re
import socket
import subprocess
import sys
import time

from conftest import MPY, MPYTESTS, Broker, Subscriber, mpy_env, mpy_result, node_config, write_fs

BASE = "vibenode/plant1/sim-0001/"
REAL = []  # per wake: ms by the socket calls' clock (real on the host: its network and CPU time)
WAKE = re.compile(r"duty: wake (\d+) awake (\d+) ms, seq next (\d+), queued (\d+); deep sleep (\d+) ms \(socket clock (\d+) ms\)")


def wakes(fs, n, timeout=120):
    """n wakes of the node on directory fs; returns (log, [(wake, awake_ms, seq_next, queued, sleep_ms)])."""
    r = subprocess.run([MPY, "-c", "import hostboot; hostboot.run(max_boots=%d)" % n], cwd=fs, env=mpy_env(),
                       capture_output=True, text=True, timeout=timeout)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    w = [tuple(int(x) for x in m.groups()[:5]) for m in WAKE.finditer(out)]
    REAL.extend(int(m.group(6)) for m in WAKE.finditer(out))
    assert len(w) == n, out[-3000:]
    return out, w


def sleepy(port, **over):
    cfg = node_config(port, power={"mode": "sleep", "interval_s": 600, "awake_max_s": 20}, **over)
    cfg["mqtt"]["timeout_s"] = 2
    return cfg


def rtc(fs):
    with open(os.path.join(fs, "rtc.json")) as f:
        st = json.load(f)
    return st, json.loads(bytes.fromhex(st["mem"]))


def test_100_wakes_with_a_broker_outage_lose_and_duplicate_nothing(tmp_path):
    b = Broker()
    fs = write_fs(str(tmp_path / "node"), sleepy(b.port))
    sub = Subscriber(b.port)
    subs = [sub]
    try:
        out1, w1 = wakes(fs, 40)
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry" and json.loads(m[1])["seq"] == 40, 10)
        sub.close()
        b.kill()  # the broker is gone for the next 20 wakes
        out2, w2 = wakes(fs, 20)
        assert [q for _, _, _, q, _ in w2] == list(range(1, 21)), out2[-2000:]  # each wake's reading queued
        b.start()
        sub = Subscriber(b.port)
        subs.append(sub)
        out3, w3 = wakes(fs, 40)
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry" and json.loads(m[1])["seq"] == 100, 10)
        time.sleep(0.3)
    finally:
        for s in subs:
            s.close()
        b.stop()
    tel = [json.loads(p) for s in subs for t, p, r in s.msgs if t == BASE + "telemetry"]
    seqs = [m["seq"] for m in tel]
    assert sorted(seqs) == list(range(1, 101)), seqs  # exact: nothing lost, nothing twice, no gap
    # the 20 readings of the outage, and the reading of the wake that found the broker again (it
    # goes behind them, through the queue), replayed in order
    assert sorted(m["seq"] for m in tel if m.get("replayed")) == list(range(41, 62))
    assert seqs[40:61] == list(range(41, 62)), seqs[40:61]
    # the wall clock moved on by the sleeps: one reading per interval (600 s), give or take 1 s
    ts = [m["ts"] for m in sorted(tel, key=lambda m: m["seq"])]
    assert all(599 <= b - a <= 601 for a, b in zip(ts, ts[1:])), ts
    ev = [json.loads(p) for t, p, r in sub.msgs if t == BASE + "event"]
    up = [e for e in ev if e["event"] == "link_up"]
    assert len(up) == 1 and 19 * 600000 <= up[0]["outage_ms"] <= 21 * 600000, ev
    assert any(e["event"] == "replayed" and e["count"] == 21 for e in ev), ev
    st = [json.loads(p) for t, p, r in sub.msgs if t == BASE + "status"]
    assert st[-1]["state"] == "sleeping" and st[-1]["wakes"] == 100 and st[-1]["reset_cause"] == "deepsleep"
    assert st[-1]["next_wake"] >= ts[-1] + 598
    # the node's own account of the time awake (emulated: the 0.64 s window, waits and backoffs)
    awake = [a for _, a, _, _, _ in w1 + w2 + w3]
    assert max(awake) <= 20000 and all(n == a + s or s == 1000 for (_, a, _, _, s), n in
                                       zip(w1 + w2 + w3, [600000] * 100))
    online = sorted(a for _, a, _, _, _ in w1 + w3[1:])
    real = sorted(REAL[-100:])
    print("\nawake per wake (ms, node's account): broker up median %d max %d; broker down median %d max %d;"
          " host real time from sampling to deep sleep (network + host CPU) median %d max %d"
          % (online[len(online) // 2], online[-1], sorted(a for _, a, _, _, _ in w2)[10], max(a for _, a, _, _, _ in w2),
             real[50], real[-1]))
    _, mem = rtc(fs)
    assert mem["seq"] == 101 and mem["wakes"] == 100 and mem["sent"] + mem["replayed"] == 100


def test_a_command_sent_while_the_node_sleeps_is_applied_at_the_next_wake(tmp_path):
    import paho.mqtt.client as mqtt
    b = Broker()
    fs = write_fs(str(tmp_path / "node"), sleepy(b.port))
    sub = Subscriber(b.port)
    try:
        wakes(fs, 2)  # the node's session (clean_session False) now exists at the broker
        st, _ = rtc(fs)
        assert st["sleeping"]
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-cmd-%d" % os.getpid())
        c.connect("127.0.0.1", b.port)
        c.loop_start()
        c.publish(BASE + "cmd", json.dumps({"id": "w1", "cmd": "set", "window": 1024}), qos=1).wait_for_publish(5)
        c.publish(BASE + "cmd", json.dumps({"id": "p1", "cmd": "ping"}), qos=1).wait_for_publish(5)
        time.sleep(0.3)
        assert not [m for m in sub.msgs if m[0] == BASE + "cmd/ack"]  # asleep: nobody answers
        wakes(fs, 1)
        acks = {}
        m = sub.wait_for(lambda m: m[0] == BASE + "cmd/ack" and json.loads(m[1])["id"] == "p1", 10)
        assert m is not None
        for t, p, r in sub.msgs:
            if t == BASE + "cmd/ack":
                a = json.loads(p)
                acks[a["id"]] = a
        assert acks["w1"]["ok"] and acks["p1"]["ok"], acks
        assert acks["p1"]["result"]["seq"] == 3  # answered in the third wake, after its reading
        wakes(fs, 1)  # the saved window applies from the next reading on
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry" and json.loads(m[1])["seq"] == 4, 10)
        c.loop_stop()
        c.disconnect()
    finally:
        sub.close()
        b.stop()
    tel = {json.loads(p)["seq"]: json.loads(p) for t, p, r in sub.msgs if t == BASE + "telemetry"}
    assert [tel[i]["n"] for i in (1, 2, 3, 4)] == [2048, 2048, 2048, 1024]
    assert len([1 for t, p, r in sub.msgs if t == BASE + "cmd/ack"]) == 2  # each once


def test_a_broker_that_never_answers_cannot_keep_the_node_awake(tmp_path):
    """A listener that completes TCP but never sends a byte (no CONNACK): every connect attempt
    waits; the awake period still ends at power.awake_max_s, the reading waits in the queue, and
    the chip's watchdog (not fed while awake) is armed just past that bound."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)  # (never accepted: the kernel completes the handshakes)
    port = srv.getsockname()[1]
    cfg = sleepy(port)
    cfg["board"]["sim"]["imbalance_g"] = [0.02, 0.0, 0.0]  # ISO zone A: no zone alarm, the reading is the one record
    cfg["power"]["awake_max_s"] = 5
    cfg["mqtt"]["timeout_s"] = 3
    fs = write_fs(str(tmp_path / "node"), cfg)
    try:
        t = time.time()
        out, w = wakes(fs, 1)
        real = time.time() - t
    finally:
        srv.close()
    assert "duty: watchdog 14000 ms, not fed while awake" in out
    assert out.count("link: connect:") >= 2, out  # it tried, each attempt cut by the bound
    (_, awake, seq_next, queued, sleep_ms), = w
    assert queued == 1 and seq_next == 2
    assert awake <= 5000 and sleep_ms == 600000 - awake
    assert real < 5 + 2.5, real  # the socket waits (real time) end by the bound too (plus process start)
    _, mem = rtc(fs)
    assert mem["err"].startswith("connect:") and mem["seq"] == 2


def test_the_sleep_modes_heap_cost():
    """duty.py is loaded only in sleep mode; its code and the RTC state on this interpreter (on the
    32-bit one, VN_MPY, the ESP32's object sizes: the figure docs/memory.md gives)."""
    with open(os.path.join(MPYTESTS, "sleepmem.py")) as f:
        r = mpy_result(f.read())
    assert r["rtc_bytes"] < 2048 // 4  # RTC memory: 2 KB on the ESP32, a quarter of it at most
    code_max = 6500 if r["bits"] == 32 else 8500  # measured: 5264 (32-bit), 6912 (x64)
    assert 1000 < r["code"] <= code_max, r
    assert r["rtc_state"] <= (400 if r["bits"] == 32 else 800), r


def test_power_tool_computes_the_table_from_the_awake_time(tmp_path):
    """tools/power.py: charge per cycle = each phase's time x current + the sleep's; the awake time
    is the flag's or the median of a node log's duty lines."""
    log = tmp_path / "node.log"
    log.write_text("[0.6] duty: wake 1 awake 600 ms, seq\n[0.7] duty: wake 2 awake 700 ms, seq\n"
                   "[0.9] duty: wake 3 awake 900 ms, seq\n")
    tool = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "power.py")
    r = subprocess.run([sys.executable, tool, "--log", str(log),
                        "--boot-ms", "0", "--compute-ms", "0", "--wifi-ms", "0", "--mqtt-ms", "0", "--cpu-ma", "100",
                        "--sleep-ua", "100", "--sensor-ua", "0", "--battery-mah", "1000", "--derate", "1"],
                       capture_output=True, text=True, check=True)
    assert "measured by the node: 700 ms" in r.stdout
    # 10 min: 0.7 s x 100 mA + 599.3 s x 0.1 mA = 129.93 mAs; / 600 s = 0.21655 mA -> 1000 mAh / that = 192 days
    assert "| 10 min | 0.70 s | 129.9 mAs | 0.217 mA | 192 days |" in r.stdout, r.stdout
