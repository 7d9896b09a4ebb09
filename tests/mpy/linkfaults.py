# Wall time of the link's connect / QoS 1 publish against misbehaving brokers (tests/netfaults.py
# FakeBroker), plain or TLS: each must give up within the configured timeout.
# argv: port, timeout_s, "tls" or "plain", then one case per argument: "connect" (an attempt that
# must fail) or "publish" (connect, then a QoS 1 publish that must fail). Working directory:
# holds ca.pem for TLS (the broker's name is localhost). Prints RESULT <json list>.
import json
import sys
import time

from link.mqtt import MqttLink

port = int(sys.argv[1])
timeout_s = float(sys.argv[2])
ssl = None
if sys.argv[3] == "tls":
    from link import tls
    ssl = tls.context({"tls": {"enabled": True, "ca": "ca.pem"}})
out = []
for case in sys.argv[4:]:
    # the `time` module is a clock (ticks_ms/ticks_diff/ticks_add); backoff 0: every call tries
    link = MqttLink("sim-0001", "localhost", port, time, keepalive=30, ssl=ssl, timeout_s=timeout_s,
                    backoff_min_ms=0, backoff_max_ms=0, will_topic="vibenode/t/sim-0001/status", will_msg="offline")
    res = {"case": case}
    t0 = time.ticks_ms()
    res["up"] = link.connect()
    res["connect_ms"] = time.ticks_diff(time.ticks_ms(), t0)
    if case == "publish" and res["up"]:
        t0 = time.ticks_ms()
        res["published"] = link.publish("vibenode/t/sim-0001/telemetry", b"{}", qos=1)
        res["publish_ms"] = time.ticks_diff(time.ticks_ms(), t0)
    res["error"] = link.last_error
    link.disconnect()
    out.append(res)
print("RESULT " + json.dumps(out))
