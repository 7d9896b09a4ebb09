"""The collector's validator (tools/vnmon/schema.py): what its fast path (fastjsonschema)
accepts, the reference (jsonschema, draft 2020-12) accepts too, and the validator's verdict is
the reference's, on valid messages of every leaf and on many mutated ones; reasons name the field; the fast path is refused for keywords whose meaning
differs between drafts."""
import copy
import json
import random

import pytest

from vnmon import synth
from vnmon.schema import FAST_SAFE, Invalid, Validator, keywords


def samples():
    n = "pump-1"
    spec = synth.capture_chunks(n, "r1", 5, "spectrum", {"x": [1, 2, 3]}, 0.001, df_hz=1.5)[0]
    wave = synth.capture_chunks(n, 7, 5, "waveform", {"y": [-1, 2]}, 0.004, rate=3200)[0]
    return {"telemetry": synth.telemetry(n, 3, 1764000003, replayed=True),
            "status": synth.status(n), "alarm": {"node": n, "seq": 3, "ts": 1, "metric": "vel", "axis": "x",
                                                 "state": "C", "prev": "B", "value": 3.0, "limit": 2.8},
            "event": {"event": "link_up", "node": n, "ts": 5, "queued": 3, "dropped": 0, "outage_ms": 100, "seq": 2},
            "cmd/ack": {"id": "r1", "cmd": "ping", "ok": True, "result": {}},
            "spectrum": spec, "waveform": wave}


def mutations(m, rnd):
    """Mutated copies of a message: keys dropped, values of the wrong type or range, extra keys."""
    out = []
    paths = []

    def walk(d, p):
        if isinstance(d, dict):
            for k, v in d.items():
                paths.append(p + [k])
                walk(v, p + [k])
        elif isinstance(d, list):
            for i, v in enumerate(d[:2]):
                paths.append(p + [i])
                walk(v, p + [i])
    walk(m, [])
    bad_values = [None, "x", -1, -1.5, 0, 1.5, True, [], {}, 2 ** 40, "A", "online", [1, 2, 3], {"a": 1}]
    for p in paths:
        for v in rnd.sample(bad_values, 5) + ["__drop__"]:
            c = copy.deepcopy(m)
            t = c
            for k in p[:-1]:
                t = t[k]
            if v == "__drop__":
                if isinstance(t, dict):
                    del t[p[-1]]
                else:
                    t.pop(p[-1])
            else:
                t[p[-1]] = v
            out.append(c)
    c = copy.deepcopy(m)
    c["unexpected_key"] = 1
    out.append(c)
    return out


def test_fast_path_agrees_with_jsonschema_reference():
    v = Validator()
    assert set(v.fast) == set(v.validators)  # every device schema qualifies for the fast path today
    rnd = random.Random(13)
    checked = refused = stricter = 0
    for leaf, m in samples().items():
        assert v.validators[leaf].is_valid(m), leaf
        v.fast[leaf](m)
        for c in mutations(m, rnd):
            ref = v.validators[leaf].is_valid(c)
            try:
                v.fast[leaf](c)
                fast = True
            except Exception:
                fast = False
            # fast acceptance must imply validity; a fast refusal is judged again by the reference
            # (fastjsonschema also asserts contentEncoding, an annotation in 2020-12)
            assert ref or not fast, (leaf, c)
            topic = "vibenode/p/%s/%s" % (c["node"] if isinstance(c.get("node"), str) else "pump-1", leaf)
            if ref:
                assert v.check(topic, json.dumps(c))[0]
            else:
                with pytest.raises(Invalid):
                    v.check(topic, json.dumps(c))
            stricter += fast != ref
            checked += 1
            refused += not ref
    assert checked > 500 and refused > 200  # the corpus does hold invalid messages
    assert stricter < checked // 50  # (base64 'data' only)


def test_parse_reasons_and_topics():
    v = Validator()
    kind, node, site, msg, text = v.parse("vibenode/plant1/pump-1/telemetry", synth.dumps(synth.telemetry("pump-1", 1, 1)))
    assert (kind, node, site, msg["seq"]) == ("telemetry", "pump-1", "plant1", 1) and json.loads(text) == msg
    assert v.check("vibenode/plant1/pump-1/cmd/ack", b'{"id": 1, "cmd": "ping", "ok": true}')[0] == "ack"
    cases = [("vibenode/plant1/pump-1/telemetry", b'{"node": "pump-1", "seq": "7"}', "telemetry schema"),
             ("vibenode/plant1/pump-1/telemetry",
              synth.dumps(dict(synth.telemetry("pump-1", 1, 1), n=1000)), "n: 1000 is not one of"),
             ("vibenode/plant1/pump-1/alarm", b'{"node": "pump-1"}', "alarm schema"),
             ("vibenode/plant1/pump-1/status", b'\xff\xfe', "not UTF-8"),
             ("vibenode/plant1/pump-1/status", b'{"state": "online", "node": "pump-1", "x": Infinity}', "Infinity"),
             ("vibenode/plant1/pump-1/status", b'{"state": "online", "node": "pump-2"}', "payload node 'pump-2'"),
             ("vibenode/plant1/pump-1/weird", b'{}', "no schema for topic leaf 'weird'"),
             ("other/plant1/pump-1/status", b'{}', "outside prefix"),
             ("vibenode/plant1", b'{}', "not <prefix>")]
    for topic, payload, reason in cases:
        with pytest.raises(Invalid) as e:
            v.check(topic, payload)
        assert reason in e.value.reason, (topic, e.value.reason)
    assert keywords({"properties": {"items": {"type": "array", "items": [{"type": "string"}]}}}) - FAST_SAFE == {"items[]"}
