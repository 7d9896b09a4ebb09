"""`make demo HA=1 SPARKPLUG=1`: the integrations in the demo (tools/demo.py).

config(cfg, ha, sparkplug) adds the sections (README "Home Assistant and Sparkplug B");
watch(host, port) prints one line per discovery message and per Sparkplug message, decoded
with Google's protobuf runtime and the Tahu sparkplug_b.proto module (sparkplug-b-packets)."""
import json


def config(cfg, ha=False, sparkplug=False):
    if ha:
        cfg["ha"] = {"enabled": True, "prefix": "homeassistant"}
    if sparkplug:
        cfg["sparkplug"] = {"enabled": True, "group": cfg["site"]}
    return cfg


def describe(topic, payload):
    if topic.startswith("homeassistant/"):
        if not payload:
            return "ha: %s removed" % topic
        d = json.loads(payload)
        return "ha: %s: device %r, %d entities (%d bytes, retained)" % (topic, d["dev"]["name"], len(d["cmps"]),
                                                                       len(payload))
    if topic.startswith("spBv1.0/"):
        try:
            from sparkplub_b_packets.core.sparkplug_b_pb2 import Payload
        except ImportError:
            return "sparkplug: %s (%d bytes)" % (topic, len(payload))
        p = Payload()
        p.ParseFromString(payload)
        kind = topic.split("/")[2]
        ms = ", ".join("%s=%s" % (m.name or "#%d" % m.alias,
                                  None if m.is_null else getattr(m, m.WhichOneof("value") or "is_null"))
                       for m in p.metrics[:6])
        seq = " seq %d" % p.seq if p.HasField("seq") else ""
        return "sparkplug: %s%s, %d metrics: %s%s" % (kind, seq, len(p.metrics), ms, ", ..." if len(p.metrics) > 6 else "")
    return None


def watch(host, port):
    """A paho client printing the integrations' messages; returns it (loop running)."""
    import paho.mqtt.client as mqtt
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="vibenode-demo-integrations")

    def on_message(cl, u, m):
        line = describe(m.topic, m.payload)
        if line:
            print("demo: " + line, flush=True)
    c.on_message = on_message
    c.on_connect = lambda cl, u, f, rc, p=None: (cl.subscribe("homeassistant/#", 1), cl.subscribe("spBv1.0/#", 0))
    c.connect(host, port)
    c.loop_start()
    return c
