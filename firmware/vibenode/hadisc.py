# Home Assistant MQTT device discovery (HA 2024.11+): the one retained payload of
# <prefix>/device/<node_id>/config. Loaded to publish it and dropped after (vibenode/integrations.py).
#
# The payload (~6 KB) is never held whole: Discovery is iterable, each pass yields it piece by
# piece (the head, then one component), so the MQTT writer sums the lengths in a first pass and
# sends in a second (lib/link/mqttproto.py publish), each piece freed after it went out.
# Values are read from the node's existing topics with value_template (telemetry; queue backlog
# and link failures from the retained status), availability from the status topic.
import json

_VEL = "{{ value_json.%s.vel if value_json.%s is defined else none }}"
_ACC = "{{ (value_json.%s.%s * 9.80665) | round(3) if value_json.%s is defined else none }}"
# the worst ISO 10816-3 zone over the axes (A < B < C < D)
_ISO = ("{{ [value_json.x.iso, value_json.y.iso, value_json.z.iso] | max "
        "if value_json.x is defined and value_json.x.iso is defined else none }}")
# the dominant frequency of the axis with the largest RMS
_F0 = ("{% if value_json.x is defined %}{% set ns = namespace(f=none, r=-1) %}{% for k in ['x', 'y', 'z'] %}"
       "{% if value_json[k].rms > ns.r %}{% set ns.r = value_json[k].rms %}{% set ns.f = value_json[k].f0 %}"
       "{% endif %}{% endfor %}{{ ns.f }}{% else %}{{ none }}{% endif %}")
# the strongest bearing defect (envelope line / envelope RMS) over the axes, with a bearing configured
_DEFECT = ("{% set ns = namespace(d=none, r=-1) %}{% for k in ['x', 'y', 'z'] %}"
           "{% if value_json[k] is defined and value_json[k].env is defined and value_json[k].env.r > ns.r %}"
           "{% set ns.r = value_json[k].env.r %}{% set ns.d = value_json[k].env.dom %}{% endif %}"
           "{% endfor %}{{ ns.d }}")
DEFECTS = ["BPFO", "BPFI", "BSF", "FTF"]
ZONES = ["A", "B", "C", "D"]
ACC_UNIT = "m/s\u00b2"  # (HA has no acceleration device class, and "g" would read as grams)


def _c(key, name, dc, unit, prec, tpl, icon=None, sc="measurement", topic=None, options=None):
    c = {"name": name, "value_template": tpl}
    for k, v in (("device_class", dc), ("unit_of_measurement", unit), ("suggested_display_precision", prec),
                 ("icon", icon), ("state_class", sc), ("state_topic", topic), ("options", options)):
        if v is not None:
            c[k] = v
    if topic:
        c["entity_category"] = "diagnostic"
    return key, c


def components():
    """(key, {component options}) of every entity, in order (a generator: one at a time)."""
    for a in "xyz":
        A = a.upper()
        yield _c("vel_" + a, "Velocity RMS " + A, "speed", "mm/s", 2, _VEL % (a, a))
        yield _c("acc_rms_" + a, "Acceleration RMS " + A, None, ACC_UNIT, 2, _ACC % (a, "rms", a), "mdi:vibrate")
        yield _c("acc_pk_" + a, "Acceleration peak " + A, None, ACC_UNIT, 2, _ACC % (a, "pk", a), "mdi:vibrate")
    yield _c("temp", "Temperature", "temperature", "\u00b0C", 1,
             "{{ value_json.temp_c if value_json.temp_c is defined else none }}")
    yield _c("iso_zone", "ISO 10816-3 zone", "enum", None, None, _ISO, sc=None, options=ZONES)
    yield _c("defect", "Dominant bearing defect", "enum", None, None, _DEFECT, sc=None, options=DEFECTS)
    yield _c("f0", "Dominant frequency", "frequency", "Hz", 1, _F0)
    yield _c("queued", "Queue backlog", None, "readings", None, "{{ value_json.queued }}", "mdi:tray-full",
             topic="status")
    yield _c("link_failures", "Link failures", None, None, None, "{{ value_json.link_failures | default(0) }}",
             "mdi:lan-disconnect", "total_increasing", "status")


def entity_id(nid, key):
    return "sensor." + "".join(c if c.isalpha() or c.isdigit() else "_" for c in nid.lower()) + "_" + key


class Discovery:
    def __init__(self, cfg, topics, version, board, death_topic=None):
        self.cfg = cfg
        self.t = topics
        self.version = version
        self.board = board
        self.death = death_topic

    def head(self):
        nid = self.cfg["node_id"]
        b = self.board
        hw = b.NAME
        arch = getattr(b, "ARCH", None)
        if arch:
            hw = "%s (%s)" % (hw, arch)
        av = [{"topic": self.t.status, "value_template": "{{ value_json.state }}",
               "payload_available": "online", "payload_not_available": "offline"}]
        if self.death:  # Sparkplug on: the will is NDEATH (any payload there: offline)
            av.append({"topic": self.death, "value_template": "offline", "payload_not_available": "offline"})
        h = {"dev": {"identifiers": ["vibenode_" + nid], "name": self.cfg.get("name") or nid, "model": "vibenode",
                     "manufacturer": "vibenode", "sw_version": self.version, "hw_version": hw},
             "o": {"name": "vibenode", "sw_version": self.version},
             "availability": av, "availability_mode": "latest", "state_topic": self.t.telemetry, "qos": 1}
        s = json.dumps(h)
        return s[:-1] + ', "cmps": {'  # the components follow

    def __iter__(self):
        nid = self.cfg["node_id"]
        yield self.head().encode()
        first = True
        for key, c in components():
            c["p"] = "sensor"
            c["unique_id"] = "vibenode_%s_%s" % (nid, key)
            c["default_entity_id"] = entity_id(nid, key)
            if c.get("state_topic") == "status":
                c["state_topic"] = self.t.status
            s = ("" if first else ", ") + json.dumps(key) + ": " + json.dumps(c)
            first = False
            yield s.encode()
        yield b"}}"
