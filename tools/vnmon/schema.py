"""Validate every vibenode MQTT message against the repository's JSON Schemas (schemas/).

    v = Validator(prefix="vibenode")
    kind, node, site, msg = v.check(topic, payload)     # or raises Invalid(reason, node, site)

Topic: `<prefix>/<site>/<node>/<leaf>` (docs/mqtt.md); the schema of a leaf is
schemas/<leaf with / as _>.schema.json (cmd/ack -> cmd_ack). A message is refused with a reason
when its payload is not UTF-8 JSON (NaN/Infinity included), fails its schema (the most relevant
error, with the JSON path), names another node than its topic, or its leaf has no schema.
"""
import json
import os

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMAS = os.path.join(ROOT, "schemas")
# leaves that are device output the store keeps, and what kind of record each becomes
KINDS = {"telemetry": "telemetry", "alarm": "alarm", "status": "status", "event": "event",
         "cmd/ack": "ack", "spectrum": "capture", "waveform": "capture", "envelope": "capture", "cmd": "cmd"}
NOT_DEVICE = ("config", "secrets")  # schemas of files, not of topics


class Invalid(Exception):
    def __init__(self, reason, node=None, site=None):
        Exception.__init__(self, reason)
        self.reason = reason
        self.node = node
        self.site = site


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


class Validator:
    def __init__(self, prefix="vibenode", schemas_dir=SCHEMAS):
        self.prefix = prefix.strip("/")
        self.validators = {}
        for fn in sorted(os.listdir(schemas_dir)):
            if not fn.endswith(".schema.json"):
                continue
            name = fn[:-len(".schema.json")]
            if name in NOT_DEVICE:
                continue
            with open(os.path.join(schemas_dir, fn)) as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
            self.validators[name.replace("_", "/")] = Draft202012Validator(schema)

    def split(self, topic):
        """(site, node, leaf) of a topic under the prefix, or raises Invalid."""
        pre = self.prefix + "/"
        if not topic.startswith(pre):
            raise Invalid("topic outside prefix %r" % self.prefix)
        parts = topic[len(pre):].split("/", 2)
        if len(parts) < 3 or not parts[0] or not parts[1]:
            raise Invalid("topic not <prefix>/<site>/<node>/<leaf>")
        return parts[0], parts[1], parts[2]

    def check(self, topic, payload):
        site, node, leaf = self.split(topic)
        v = self.validators.get(leaf)
        if v is None:
            raise Invalid("no schema for topic leaf %r" % leaf, node, site)
        try:
            text = payload.decode("utf-8") if isinstance(payload, (bytes, bytearray, memoryview)) else payload
            if isinstance(text, memoryview):
                text = bytes(text).decode("utf-8")
            msg = json.loads(text, parse_constant=_no_constant)
        except UnicodeDecodeError as e:
            raise Invalid("payload not UTF-8: %s" % e, node, site)
        except ValueError as e:
            raise Invalid("payload not JSON: %s" % e, node, site)
        err = best_match(v.iter_errors(msg))
        if err is not None:
            path = "/".join(str(p) for p in err.absolute_path)
            raise Invalid("%s schema: %s%s" % (leaf, (path + ": ") if path else "", err.message[:200]), node, site)
        if isinstance(msg, dict) and "node" in msg and msg["node"] != node and leaf != "cmd":
            raise Invalid("payload node %r on the topic of node %r" % (msg["node"], node), node, site)
        return KINDS.get(leaf, leaf), node, site, msg
