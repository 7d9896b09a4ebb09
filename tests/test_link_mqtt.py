"""The node's own MQTT 3.1.1 client (lib/link/mqtt.py over lib/link/mqttproto.py) against a real
Mosquitto, plain and over mutual TLS (the fleet PKI of tools/fleet.py), on the MicroPython unix
port: QoS 0 and 1 publish, subscribe, the retained flag passed to on_msg, keepalive pings, the
will published on an abnormal close and not after DISCONNECT, and a 1.5 MB and a 20 MB incoming
PUBLISH drained in a 256 KB heap with the session up and the first HINT bytes delivered; and the
whole node answering a 1.5 MB command with an error ack while its session stays up.

The MicroPython side is tests/mpy/mqttclient.py; this side is a paho-mqtt peer that publishes
the commands and watches what the node sends."""
import json
import os
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from conftest import MPY, ROOT, Broker, Subscriber, mpy_env, node_config, start_node, write_fs
from test_tls import TlsBroker, make_fleet, node_fs

BASE = "vibenode/plant1/node-a"


class Peer:
    """paho client (plain, or mTLS as the fleet's operator) recording (topic, payload, retain)."""

    def __init__(self, port, fleet=None):
        self.msgs = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="peer-%d" % os.getpid())
        host = "127.0.0.1"
        if fleet is not None:
            d = fleet.p("nodes", "ops")
            self.c.tls_set(ca_certs=fleet.p("ca.pem"), certfile=os.path.join(d, "client.pem"),
                           keyfile=os.path.join(d, "client.key"))
            host = "localhost"
        self.c.on_message = self._on
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe("vibenode/#", qos=1)
        self.c.connect(host, port)
        self.c.loop_start()
        assert self.subscribed.wait(10), "peer could not subscribe"

    def _on(self, c, u, m):
        with self.lock:
            self.msgs.append((m.topic, m.payload, m.retain))

    def publish(self, topic, payload, retain=False, wait=True):
        info = self.c.publish(topic, payload, qos=1, retain=retain)
        if wait:
            info.wait_for_publish(60)
        return info

    def wait_for(self, topic, payload, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if any(t == topic and p == payload for t, p, r in self.msgs):
                    return True
            time.sleep(0.02)
        return False

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture(scope="module")
def fleet_broker(tmp_path_factory):
    f, rogue = make_fleet(str(tmp_path_factory.mktemp("fleet")))
    b = TlsBroker(f, "localhost")
    yield f, b
    b.stop()


def _big(cid, n):
    head = b'{"id": "%s", "cmd": "ping", "pad": "' % cid.encode()
    return head + b"x" * (n - len(head) - 2) + b'"}'


@pytest.mark.parametrize("mode", ["plain", "tls"])
def test_client_against_mosquitto(mode, tmp_path, request):
    fs = str(tmp_path)
    cfg = {"base": BASE, "client_id": "node-a"}
    if mode == "tls":
        fleet, broker = request.getfixturevalue("fleet_broker")
        key = node_fs(fs, fleet, "node-a")
        cfg.update(host="localhost", port=broker.port, tls={"ca": "ca.pem", "cert": "client.pem", "key": key})
        peer = Peer(broker.port, fleet)
    else:
        fleet = None
        broker = Broker()
        cfg.update(host="127.0.0.1", port=broker.port, tls=None)
        peer = Peer(broker.port)
    path = os.path.join(fs, "client.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    big1, big2 = _big("big-1", 1500000), _big("big-2", 20 * 1024 * 1024)
    node = None
    try:
        peer.publish(BASE + "/cmd", b"retained-cmd", retain=True)  # waits for the node's SUBSCRIBE
        node = subprocess.Popen([MPY, "-X", "heapsize=256k", os.path.join(ROOT, "tests", "mpy", "mqttclient.py"),
                                 path], cwd=fs, env=mpy_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines = []

        def until(step):
            while True:
                ln = node.stdout.readline()
                assert ln, "node ended before %s:\n%s" % (step, "".join(lines[-40:]))
                lines.append(ln)
                if ln.strip() == "STEP " + step:
                    return

        def go():
            node.stdin.write("\n")
            node.stdin.flush()

        until("subscribed")
        for payload in (b"live", big1, big2, b"after"):  # queued in order, sent by paho's thread
            peer.publish(BASE + "/cmd", payload, wait=False)
        go()
        assert peer.wait_for(BASE + "/q0", b"zero") and peer.wait_for(BASE + "/q1", b"one")
        assert peer.wait_for(BASE + "/q1", b"t-parts")  # a payload in parts, sent without a copy
        until("received")
        go()
        until("pinged")
        assert peer.wait_for(BASE + "/q1", b"two")
        go()
        until("dropped")
        assert peer.wait_for(BASE + "/status", b"will-1", timeout=10), peer.msgs[-5:]  # abnormal close: the will
        go()
        until("disconnected")
        assert peer.wait_for(BASE + "/q1", b"three")
        time.sleep(2)
        assert not peer.wait_for(BASE + "/status", b"will-2", timeout=0.1)  # DISCONNECT: no will
        go()
        out, _ = node.communicate(timeout=30)
        lines.append(out)
        assert node.returncode == 0, "".join(lines)[-3000:]
        res = json.loads([ln for ln in "".join(lines).splitlines() if ln.startswith("RESULT ")][-1][7:])
    finally:
        if node is not None and node.poll() is None:
            node.kill()
        peer.close()
        if fleet is None:
            broker.stop()
    assert res["up"] and res["connect_error"] is None, res
    assert res["subscribed"] and res["q0"] and res["q1"] and res["q1_tuple"], res
    got = res["received"]
    assert [(m["msg"], m["retain"]) for m in got[:2]] == [("retained-cmd", True), ("live", False)], got
    hint = res["hint"]
    for m, big in zip(got[2:4], (big1, big2)):
        # drained, never allocated (the heap is 256 KB): the head and the true size reach the handler
        assert m["topic"] == BASE + "/cmd" and m["msg"] is None and m["retain"] is False, m
        assert m["size"] == len(big) and m["head"] == big[:hint].decode(), (m["size"], m["head"])
    assert got[4]["msg"] == "after" and len(got) == 5, got
    assert res["oversize"] == 2
    assert res["up_after_big"] == [True, None, 1], res  # the same session throughout
    assert res["pings"] >= 1 and res["pingresps"] == res["pings"], res
    assert res["up_after_idle"] == [True, None, 1] and res["q1_after_idle"], res
    assert res["after_drop"][0] is False and "abnormal close" in res["after_drop"][1]
    assert res["up2"] and res["q1_2"] and res["after_disconnect"] == [False, 0], res
    print("%s: 1.5 MB + 20 MB drained in %d ms, lowest free heap %d bytes" % (mode, res["drain_ms"],
                                                                           res["lowest_free"]))


def test_node_answers_a_huge_command_and_keeps_its_session(broker, tmp_path):
    """The whole node: a 1.5 MB command (issue 10, item 7: it used to end the session with a
    ProtocolError, 27 reconnects in 20 s when retained) is drained, answered with an error ack
    naming its id, and the session stays up: readings keep flowing, one connect in the log."""
    base = "vibenode/plant1/sim-0001/"
    sub = Subscriber(broker.port)
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    node = start_node(fs, cycles=None)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="big-sender-%d" % os.getpid())
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    try:
        assert sub.wait_for(lambda m: m[0] == base + "telemetry", 30), "no telemetry"
        pub.publish(base + "cmd", _big("huge-1", 1500000), qos=1).wait_for_publish(30)
        a = sub.wait_for(lambda m: m[0] == base + "cmd/ack" and b'"huge-1"' in m[1], 30)
        assert a, sub.msgs[-5:]
        ack = json.loads(a[1])
        assert ack["ok"] is False and "too large" in ack["error"] and "1500000" in ack["error"], ack
        seq = max(m["seq"] for m in sub.json_on("telemetry"))
        pub.publish(base + "cmd", json.dumps({"id": "p-after", "cmd": "ping"}), qos=1).wait_for_publish(5)
        assert sub.wait_for(lambda m: m[0] == base + "cmd/ack" and b'"p-after"' in m[1], 20)
        assert sub.wait_for(lambda m: m[0] == base + "telemetry" and json.loads(m[1])["seq"] > seq + 1, 30)
    finally:
        pub.loop_stop()
        pub.disconnect()
        sub.close()
        node.kill()
        out, _ = node.communicate(timeout=10)
    assert out.count("link: connected") == 1, out[-3000:]
    assert "oversized PUBLISH 1500000 bytes" in out and "ProtocolError" not in out, out[-3000:]
