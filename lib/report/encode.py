# Payload encoding. Telemetry and alarms are JSON objects (readable with mosquitto_sub), one
# per reading, kept compact: a 3-axis reading is ~400 bytes, well under the 1 KB budget.
# A record replayed from the store-and-forward queue is marked by inserting "replayed": true
# at the front of the stored payload, without decoding it again.
import json

_REPLAYED = b'{"replayed": true, '


def dumps(obj):
    return json.dumps(obj).encode()


def replayed(payload):
    """The stored payload (bytes of a JSON object) with "replayed": true added."""
    if len(payload) > 2 and payload[0] == 0x7B:
        return _REPLAYED + payload[1:]
    return payload


def time_synced(t):
    """A UTC timestamp is trusted once the clock was set (NTP/RTC): ESP32 clocks start at 2000."""
    return t >= 1600000000
