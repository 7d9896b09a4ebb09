# MQTT topics of one node and the rules for the names that go into them.
#
#   <prefix>/<site>/<node_id>/{status,telemetry,alarm,spectrum,waveform,event,cmd,cmd/ack}
#
# The node id is also the MQTT client id, so it must satisfy both sets of rules: a UTF-8 string,
# 1..MAX_ID bytes, no topic wildcards (+ #), no level separator (/), no NUL or other control
# characters and no spaces (MQTT 3.1.1 sections 1.5.3, 3.1.3.1 and 4.7).
MAX_ID = 64
MAX_LEVEL = 64

LEAVES = ("status", "telemetry", "alarm", "spectrum", "waveform", "event", "cmd", "cmd/ack")


def check_name(what, s, max_bytes):
    """Raise ValueError naming the problem when `s` cannot be a client id / topic level."""
    if not isinstance(s, str):
        raise ValueError("%s: must be a string" % what)
    try:
        b = s.encode("utf-8")
    except Exception:
        raise ValueError("%s: not valid UTF-8" % what)
    if not b:
        raise ValueError("%s: empty" % what)
    if len(b) > max_bytes:
        raise ValueError("%s: %d bytes, at most %d" % (what, len(b), max_bytes))
    for c in s:
        o = ord(c)
        if c in "+#/":
            raise ValueError("%s: %r is not allowed (MQTT wildcard or level separator)" % (what, c))
        if o < 0x21 or o == 0x7F or 0xD800 <= o <= 0xDFFF or o == 0xFFFF:
            raise ValueError("%s: control character, space or invalid code point U+%04X" % (what, o))
    return s


def check_client_id(node_id):
    return check_name("node_id", node_id, MAX_ID)


class Topics:
    def __init__(self, prefix, site, node_id):
        check_name("mqtt.prefix", prefix, MAX_LEVEL)
        check_name("site", site, MAX_LEVEL)
        check_client_id(node_id)
        base = "%s/%s/%s/" % (prefix, site, node_id)
        self.base = base
        self.status = base + "status"
        self.telemetry = base + "telemetry"
        self.alarm = base + "alarm"
        self.spectrum = base + "spectrum"
        self.waveform = base + "waveform"
        self.event = base + "event"
        self.cmd = base + "cmd"
        self.cmd_ack = base + "cmd/ack"
