# Payload encoding. Telemetry and alarms are JSON objects (readable with mosquitto_sub), one
# per reading, without blanks between tokens (15 % of a reading; nothing lost): a 3-axis reading
# with the defaults or the demo config is under 1 KB (~920 bytes); the worst case the config
# allows (top_k 16, 8 bands, envelope, every optional field) is at most 1.9 KB, inside the
# encoder's 2 KB buffer (tests/test_telemetry_size.py measures both; docs/mqtt.md).
# A record replayed from the store-and-forward queue is marked by inserting "replayed":true
# at the front of the stored payload, without decoding it again.
import io
import json

_REPLAYED = b'{"replayed":true,'
_SEP = (",", ":")  # no blanks


def dumps(obj):
    return json.dumps(obj, separators=_SEP).encode()


class Encoder(io.IOBase):
    """JSON into one preallocated buffer: json.dump writes token by token, so encoding a
    reading needs no large allocation (a fragmented small heap may have no free 1 KB block
    left). encode() returns a memoryview valid until the next encode()."""

    def __init__(self, size=2048):
        self.buf = bytearray(size)
        self.mv = memoryview(self.buf)
        self.n = 0

    def write(self, b):
        k = len(b)
        n = self.n
        if n + k > len(self.buf):
            raise ValueError("payload over %d bytes" % len(self.buf))
        self.buf[n:n + k] = b
        self.n = n + k
        return k

    def encode(self, obj):
        self.n = 0
        json.dump(obj, self, separators=_SEP)
        return self.mv[:self.n]


def replayed(payload):
    """The stored payload (bytes of a JSON object) with "replayed": true added, as parts for
    MqttLink.publish (no copy of the payload)."""
    if len(payload) > 2 and payload[0] == 0x7B:
        return (_REPLAYED, memoryview(payload)[1:])
    return payload


def time_synced(t):
    """A UTC timestamp is trusted once the clock was set (NTP/RTC): ESP32 clocks start at 2000."""
    return t >= 1600000000
