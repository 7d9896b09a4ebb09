# The node's MQTT client (link.mqtt over link.mqttproto) against a real broker, step by step with
# the test on the other side (tests/test_link_mqtt.py), which reads these lines and answers on
# stdin. argv[1]: a JSON file {"host", "port", "base" (topic prefix), "client_id", "tls": null or
# {"ca", "cert", "key"}}. Runs in a small heap: the big messages must be drained, not allocated.
#
#   1. connect (will "will-1" on base/status), subscribe base/cmd (a retained message waits
#      there), publish QoS 0 and QoS 1                                      -> "STEP subscribed"
#   2. the test publishes "live", a 1.5 MB and a 20 MB message, then "after" on base/cmd; the
#      link is serviced until "after" arrives (session up throughout)       -> "STEP received"
#   3. idle for 4 s (keepalive 3 s): PINGREQ/PINGRESP keep the session        -> "STEP pinged"
#   4. drop (no DISCONNECT: the broker publishes "will-1")                   -> "STEP dropped"
#   5. a new session with will "will-2", clean DISCONNECT (no will)        -> "STEP disconnected"
import gc
import json
import sys
import time

from link.mqtt import MqttLink, HINT

cfg = json.loads(open(sys.argv[1]).read())
base = cfg["base"]
ssl = None
if cfg.get("tls"):
    from link import tls
    t = cfg["tls"]
    ssl = tls.context({"tls": {"enabled": True, "ca": t["ca"], "cert": t.get("cert"), "key": t.get("key")}})
got = []


def on_msg(topic, msg, head, size, retain):
    # a summary only: what a handler would keep (the 20 MB message never exists here)
    got.append({"topic": bytes(topic).decode(), "msg": None if msg is None else bytes(msg).decode(),
                "head": None if head is None else bytes(head).decode(), "size": size, "retain": retain})


def step(name):
    print("STEP " + name)
    sys.stdin.readline()  # the test's go-ahead


def make(will):
    lk = MqttLink(cfg["client_id"], cfg["host"], cfg["port"], time, keepalive=3, ssl=ssl, timeout_s=5,
                  backoff_min_ms=0, will_topic=base + "/status", will_msg=will)
    lk.on_msg = on_msg
    return lk


out = {}
link = make("will-1")
out["up"] = link.connect()
out["connect_error"] = link.last_error
out["subscribed"] = link.subscribe(base + "/cmd", 1)
out["q0"] = link.publish(base + "/q0", "zero", qos=0)
out["q1"] = link.publish(base + "/q1", b"one", qos=1)
out["q1_tuple"] = link.publish(base + "/q1", (b"t", memoryview(b"-parts")), retain=True, qos=1)
step("subscribed")

gc.collect()
low = gc.mem_free()
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 120000 and link.up:
    link.service()
    if got and got[-1]["msg"] == "after":
        break
    f = gc.mem_free()
    if f < low:
        low = f
    time.sleep_ms(1)
out["drain_ms"] = time.ticks_diff(time.ticks_ms(), t0)
out["lowest_free"] = low
out["received"] = got
out["oversize"] = link.oversize
out["up_after_big"] = [link.up, link.last_error, link.connects]
out["hint"] = HINT
step("received")

p0, r0 = link.pings, link.pingresps
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 4000:
    link.service()
    time.sleep_ms(20)
out["pings"] = link.pings - p0
out["pingresps"] = link.pingresps - r0
out["up_after_idle"] = [link.up, link.last_error, link.connects]
out["q1_after_idle"] = link.publish(base + "/q1", "two", qos=1)
step("pinged")

link.drop("test: abnormal close")
out["after_drop"] = [link.up, link.last_error]
step("dropped")

link = make("will-2")
out["up2"] = link.connect()
out["q1_2"] = link.publish(base + "/q1", "three", qos=1)
link.disconnect()
out["after_disconnect"] = [link.up, link.failures]
step("disconnected")
print("RESULT " + json.dumps(out))
