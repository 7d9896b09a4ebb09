"""Wi-Fi manager on the host board's WLAN stand-in (emulated clock): networks tried in turn,
a stability check before the link counts as up, exponential backoff after a full failed round,
and reconnection when the access point goes away."""
from conftest import mpy_result

RUN = r'''
import json
import network
from simclock import SimClock
from link.wifi import Wifi
clock = SimClock()
network.available.clear()
network.available["backup"] = "backup-pass"
w = Wifi(network.WLAN(network.STA_IF), [{"ssid": "main", "psk": "main-pass"}, {"ssid": "backup", "psk": "wrong"},
         {"ssid": "spare", "psk": "x"}], clock, stable_ms=3000, connect_ms=5000, backoff_min_ms=2000,
         backoff_max_ms=16000)
out = {}
def run(ms, step=100):
    t = []
    for _ in range(ms // step):
        w.service()
        t.append(w.up)
        clock.sleep_ms(step)
    return t
# round 1: main absent, backup refuses the key, spare absent -> backoff 2 s, 4 s, 8 s, 16 s, 16 s
tries = []
last = network.WLAN(network.STA_IF).connects
for _ in range(600):
    w.service()
    n = network.WLAN(network.STA_IF).connects
    if n != last:
        tries.append([clock.ticks_ms(), w.ssid])
        last = n
    clock.sleep_ms(100)
out["tries"] = tries
out["up_while_failing"] = w.up
# the right key for backup arrives (an operator fixed the AP): connected after the stability check
network.available["backup"] = "wrong"
t0 = clock.ticks_ms()
ups = run(40000)
out["up_after_ms"] = (ups.index(True) * 100) if True in ups else None
out["ssid"] = w.ssid
# a flap inside the stability window does not count as up
network.available.pop("backup")
run(1000)
out["up_after_loss"] = w.up
network.available["spare"] = "x"
ups = run(60000)
out["recovered_on"] = w.ssid if w.up else None
out["connects"] = w.connects
out["losses"] = w.losses
print("RESULT " + json.dumps(out))
'''


def test_wifi_networks_stability_and_backoff(tmp_path):
    r = mpy_result(RUN, cwd=str(tmp_path))
    tries = r["tries"]
    ssids = [s for t, s in tries]
    assert ssids[:3] == ["main", "backup", "spare"]  # in the configured order
    assert not r["up_while_failing"]
    # after each failed round the wait doubles (2, 4, 8, 16 s) and stays at the cap
    round_starts = [t for t, s in tries if s == "main"]
    gaps = [b - a for a, b in zip(round_starts, round_starts[1:])]
    assert len(gaps) >= 3
    assert gaps[1] > gaps[0] * 1.5 and gaps[2] > gaps[1] * 1.5
    assert all(g <= 16000 + 3 * 5000 + 1000 for g in gaps)
    # up only after staying connected for the 3 s stability window
    assert r["ssid"] == "backup" and r["up_after_ms"] is not None and r["up_after_ms"] >= 3000
    assert not r["up_after_loss"]  # the AP went away: down at once
    assert r["recovered_on"] == "spare" and r["losses"] == 1


def test_ntp_sets_clock_and_unsync_flag(broker, tmp_path):
    """A node whose clock was never set flags its readings `unsync` until an SNTP answer (from a
    fake NTP server on loopback) sets the RTC; then ts is UTC from that answer."""
    import json
    import socket
    import struct
    import threading

    from conftest import Subscriber, node_config, start_node, write_fs
    T = 1764123456
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    srv.settimeout(0.2)
    stop = []
    asked = []

    def serve():
        while not stop:
            try:
                q, addr = srv.recvfrom(48)
            except OSError:
                continue
            asked.append(q[0])
            r = bytearray(48)
            r[0] = 0x1C  # version 3, mode 4 (server)
            r[1] = 1  # stratum 1
            struct.pack_into("!I", r, 40, T + 2208988800)
            srv.sendto(bytes(r), addr)
    th = threading.Thread(target=serve, daemon=True)
    th.start()
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port)
    cfg["board"]["epoch"] = 0  # like an ESP32 after power-on: RTC at the epoch
    cfg["ntp"] = {"host": "127.0.0.1", "port": srv.getsockname()[1], "timeout_s": 1}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=4)
    out, _ = node.communicate(timeout=60)
    stop.append(1)
    assert node.returncode == 0, out[-2000:]
    assert sub.wait_for(lambda m: m[0].endswith("/telemetry") and json.loads(m[1])["seq"] == 4, 20), out[-2000:]
    tel = sub.json_on("telemetry")
    sub.close()
    assert asked and asked[0] == 0x1B  # an SNTP v3 client request
    assert tel[0].get("unsync") is True and tel[0]["ts"] < 1600000000
    for m in tel[1:]:
        assert "unsync" not in m and T <= m["ts"] <= T + 10


WIFI_NODE = r'''
import json
import network
import board as board_mod
from vibenode import config
from vibenode.node import Node
cfg = config.load()
node = Node(cfg, board_mod.make(cfg))
node.run(cycles=5)                       # on "plant"
network.available.pop("plant")           # the AP dies
node.run(cycles=8)                       # readings queue; the link notices the lost Wi-Fi
down = {"wifi_up": node.link.wifi.up, "mqtt_up": node.link.up, "queued": len(node.queue)}
network.available["backup"] = None       # a second network appears
node.run(cycles=12)
print("RESULT " + json.dumps({"down": down, "ssid": node.link.wifi.ssid, "queued": len(node.queue),
                              "losses": node.link.wifi.losses, "connects": node.link.connects}))
'''


def test_node_survives_wifi_loss_on_second_network(broker, tmp_path):
    import json as _json

    from conftest import Subscriber, node_config, write_fs
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port)
    cfg["wifi"] = {"networks": [{"ssid": "plant", "open": True}, {"ssid": "backup", "open": True}]}
    cfg["board"]["wifi_available"] = {"plant": None}
    cfg["link"] = {"backoff_min_s": 0.5, "backoff_max_s": 4}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    r = mpy_result(WIFI_NODE, cwd=fs)
    assert r["down"]["wifi_up"] is False and r["down"]["mqtt_up"] is False and r["down"]["queued"] >= 5
    assert r["ssid"] == "backup" and r["losses"] == 1 and r["queued"] == 0 and r["connects"] == 2
    assert sub.wait_for(lambda m: m[0].endswith("/telemetry") and _json.loads(m[1])["seq"] == 25, 20)
    seqs = [m["seq"] for m in sub.json_on("telemetry")]
    sub.close()
    assert seqs == list(range(1, 26))  # nothing lost, in order, across the Wi-Fi change
