"""Validate every vibenode MQTT message against the repository's JSON Schemas (schemas/).

    v = Validator(prefix="vibenode")
    kind, node, site, msg = v.check(topic, payload)     # or raises Invalid(reason, node, site)

Topic: `<prefix>/<site>/<node>/<leaf>` (docs/mqtt.md); the schema of a leaf is
schemas/<leaf with / as _>.schema.json (cmd/ack -> cmd_ack). A message is refused with a reason
when its payload is not UTF-8 JSON (NaN/Infinity included), fails its schema (the most relevant
error, with the JSON path), names another node than its topic, or its leaf has no schema.

Speed: jsonschema (the reference, draft 2020-12) takes ~1 ms for a telemetry message on this
host, too slow for hundreds of messages per second; so each schema is also compiled with
fastjsonschema (generated Python code, ~15x faster) when it uses only keywords whose meaning
is the same in fastjsonschema's draft 7 and in 2020-12 (FAST_SAFE). A message it accepts is
valid; one it refuses is judged again by jsonschema, which decides and gives the reason.
"""
import json
import os

import fastjsonschema
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMAS = os.path.join(ROOT, "schemas")
# leaves that are device output the store keeps, and what kind of record each becomes
KINDS = {"telemetry": "telemetry", "alarm": "alarm", "status": "status", "event": "event",
         "cmd/ack": "ack", "spectrum": "capture", "waveform": "capture", "envelope": "capture", "cmd": "cmd"}
NOT_DEVICE = ("config", "secrets")  # schemas of files, not of topics
# keywords whose draft-7 meaning (fastjsonschema) accepts nothing that 2020-12 refuses (not:
# items as an array, prefixItems, $defs/$ref, dependentSchemas, unevaluated*, ...);
# contentEncoding is asserted by fastjsonschema, only an annotation in 2020-12: stricter, and a
# refusal is judged again by jsonschema
FAST_SAFE = {"$schema", "$id", "title", "description", "type", "required", "properties", "additionalProperties",
             "pattern", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
             "maxLength", "minItems", "maxItems", "items", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
             "contentEncoding", "default", "minProperties", "maxProperties", "multipleOf", "uniqueItems", "propertyNames"}


def keywords(schema, out=None):
    """Every keyword used in a schema (property names under `properties` are not keywords)."""
    out = set() if out is None else out
    if isinstance(schema, dict):
        for k, v in schema.items():
            out.add(k)
            if k == "properties" and isinstance(v, dict):
                for sub in v.values():
                    keywords(sub, out)
            elif k in ("enum", "const", "default", "required"):
                continue
            elif k == "items" and isinstance(v, list):
                out.add("items[]")  # the tuple form: prefixItems in 2020-12
            else:
                keywords(v, out)
    elif isinstance(schema, list):
        for v in schema:
            keywords(v, out)
    return out


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
        self.fast = {}
        for fn in sorted(os.listdir(schemas_dir)):
            if not fn.endswith(".schema.json"):
                continue
            name = fn[:-len(".schema.json")]
            if name in NOT_DEVICE:
                continue
            with open(os.path.join(schemas_dir, fn)) as f:
                schema = json.load(f)
            Draft202012Validator.check_schema(schema)
            leaf = name.replace("_", "/")
            self.validators[leaf] = Draft202012Validator(schema)
            if keywords(schema) <= FAST_SAFE:
                self.fast[leaf] = fastjsonschema.compile(schema)

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
        return self.parse(topic, payload)[:4]

    def parse(self, topic, payload):
        """(kind, node, site, msg, JSON text) of a valid message, or raises Invalid."""
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
        err = None
        fast = self.fast.get(leaf)
        try:
            if fast is None:
                raise fastjsonschema.JsonSchemaException("no fast validator")
            fast(msg)
        except fastjsonschema.JsonSchemaException:
            err = best_match(v.iter_errors(msg))
        if err is not None:
            path = "/".join(str(p) for p in err.absolute_path)
            raise Invalid("%s schema: %s%s" % (leaf, (path + ": ") if path else "", err.message[:200]), node, site)
        if isinstance(msg, dict) and "node" in msg and msg["node"] != node and leaf != "cmd":
            raise Invalid("payload node %r on the topic of node %r" % (msg["node"], node), node, site)
        return KINDS.get(leaf, leaf), node, site, msg, text
