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


def components(nid):
    """(key, {component options}) of every entity, in order (a generator: one at a time)."""
    for a in "xyz":
        A = a.upper()
        yield "vel_" + a, {"name": "Velocity RMS " + A, "device_class": "speed", "unit_of_measurement": "mm/s",
                           "state_class": "measurement", "suggested_display_precision": 2,
                           "value_template": _VEL % (a, a)}
        yield "acc_rms_" + a, {"name": "Acceleration RMS " + A, "unit_of_measurement": ACC_UNIT,
                               "state_class": "measurement", "suggested_display_precision": 2,
                               "icon": "mdi:vibrate", "value_template": _ACC % (a, "rms", a)}
        yield "acc_pk_" + a, {"name": "Acceleration peak " + A, "unit_of_measurement": ACC_UNIT,
                              "state_class": "measurement", "suggested_display_precision": 2,
                              "icon": "mdi:vibrate", "value_template": _ACC % (a, "pk", a)}
    yield "temp", {"name": "Temperature", "device_class": "temperature", "unit_of_measurement": "\u00b0C",
                   "state_class": "measurement", "suggested_display_precision": 1,
                   "value_template": "{{ value_json.temp_c if value_json.temp_c is defined else none }}"}
    yield "iso_zone", {"name": "ISO 10816-3 zone", "device_class": "enum", "options": ZONES,
                       "value_template": _ISO}
    yield "defect", {"name": "Dominant bearing defect", "device_class": "enum", "options": DEFECTS,
                     "value_template": _DEFECT}
    yield "f0", {"name": "Dominant frequency", "device_class": "frequency", "unit_of_measurement": "Hz",
                 "state_class": "measurement", "suggested_display_precision": 1, "value_template": _F0}
    yield "queued", {"name": "Queue backlog", "entity_category": "diagnostic", "state_class": "measurement",
                     "unit_of_measurement": "readings", "icon": "mdi:tray-full", "state_topic": "status",
                     "value_template": "{{ value_json.queued }}"}
    yield "link_failures", {"name": "Link failures", "entity_category": "diagnostic",
                            "state_class": "total_increasing", "icon": "mdi:lan-disconnect",
                            "state_topic": "status", "value_template": "{{ value_json.link_failures | default(0) }}"}


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
        for key, c in components(nid):
            c["p"] = "sensor"
            c["unique_id"] = "vibenode_%s_%s" % (nid, key)
            c["default_entity_id"] = entity_id(nid, key)
            if c.get("state_topic") == "status":
                c["state_topic"] = self.t.status
            s = ("" if first else ", ") + json.dumps(key) + ": " + json.dumps(c)
            first = False
            yield s.encode()
        yield b"}}"
