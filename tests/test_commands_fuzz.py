"""10 000 fuzzed payloads on the node's command handler (real Node on the unix port, real
config module): bad JSON, invalid UTF-8, wrong types, huge numbers, deep nesting, 64 KB
payloads, unknown fields, other nodes' commands, and valid commands in between.

Judged on the CPython side with its own json parser: 0 crashes; every payload that carries a
valid id and is for this node is answered with that id; other nodes' commands are not answered;
invalid commands get ok=false with an error text; the settings the node ends with are the ones
the last accepted commands asked for (and are in config.json, so they survive a reboot)."""
import json
import os
import random
import struct
import subprocess

from conftest import MPY, ROOT, mpy_env, node_config, write_fs

NODE = "sim-0001"


def _valid_id(v):
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -(1 << 31) <= v < (1 << 31)
    return isinstance(v, str) and 1 <= len(v) <= 64 and all(ord(c) >= 0x20 for c in v)


def _depth(o):
    if isinstance(o, dict):
        return 1 + max([_depth(v) for v in o.values()] or [0])
    if isinstance(o, list):
        return 1 + max([_depth(v) for v in o] or [0])
    return 0


def gen(rng, i):
    """One fuzz payload (bytes)."""
    rid = "f%d" % i
    k = rng.random()
    good = [
        {"id": rid, "cmd": "ping"},
        {"id": rid, "cmd": "set", "interval_s": rng.choice([0.5, 1, 2.5, 60, 3600])},
        {"id": rid, "cmd": "set", "window": rng.choice([256, 512, 1024, 2048])},
        {"id": rid, "cmd": "set_thresholds", "hysteresis": 0.1,
         "rules": [{"metric": "rms", "axis": rng.choice("xyz"), "warn": 0.5, "alarm": 1.0}]},
        {"id": rid, "cmd": "identify", "seconds": rng.randint(1, 600)},
        {"id": rid, "cmd": "get_config"},
        {"id": i, "cmd": "ping"},
        {"id": rid, "cmd": "ping", "node": NODE},
    ]
    if k < 0.25:
        return json.dumps(rng.choice(good)).encode()
    if k < 0.50:  # wrong types, ranges, unknown fields
        base = dict(rng.choice(good))
        key = rng.choice(["interval_s", "window", "seconds", "hysteresis", "rules", "cmd", "zzz", "id"])
        base[key] = rng.choice([None, True, False, "1", -1, 0, 1e9, -1e9, 3.5, [], {}, [1, 2], {"a": 1},
                                2 ** 70, -(2 ** 70), "x" * 300, 127, 4097, 100])
        return json.dumps(base).encode()
    if k < 0.62:  # not JSON / not UTF-8 / not an object
        return rng.choice([
            b"", b"{", b"}", b"[", b"null", b"42", b'"str"', b"[1,2,3]", b"{'id': 1}", b'{"id": "a",}',
            bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200))),
            b'{"id": "\xff\xfe", "cmd": "ping"}', b'{"id": "a", "cmd": "ping"', b"\x00" * 10,
            json.dumps({"id": rid, "cmd": "ping"}).encode()[:rng.randint(1, 20)],
        ])
    if k < 0.70:  # deep nesting
        d = rng.choice([7, 8, 20, 100, 1000, 2000])
        inner = rng.choice(["[" * d + "]" * d, '{"a":' * d + "1" + "}" * d])
        return ('{"id": "%s", "cmd": "ping", "x": %s}' % (rid, inner)).encode()
    if k < 0.80:  # huge numbers
        num = rng.choice(["1e999", "-1e999", "1" * 400, "-" + "9" * 300, "1e-999", "0.0000001", "123456789012345678901234567890",
                          "2147483648", "-2147483649", "1" * 4000])
        field = rng.choice(["interval_s", "window", "seconds", "id"])
        cmd = {"interval_s": "set", "window": "set", "seconds": "identify", "id": "ping"}[field]
        if field == "id":
            return ('{"id": %s, "cmd": "ping"}' % num).encode()
        return ('{"id": "%s", "cmd": "%s", "%s": %s}' % (rid, cmd, field, num)).encode()
    if k < 0.83:  # 64 KB
        pad = "p" * (65536 - 60)
        return ('{"id": "%s", "cmd": "ping", "pad": "%s"}' % (rid, pad)).encode()[:65536]
    if k < 0.90:  # another node's command: ignored
        return json.dumps({"id": rid, "cmd": rng.choice(["reboot", "set", "ping"]), "node": "other-%d" % i,
                           "interval_s": 1}).encode()
    # structurally odd but valid JSON objects
    return json.dumps(rng.choice([
        {"id": rid}, {"cmd": "ping"}, {"id": rid, "cmd": "nope"}, {"id": "", "cmd": "ping"},
        {"id": rid, "cmd": "set"}, {"id": rid, "cmd": "capture", "kind": "waveform"},
        {"id": rid, "cmd": "set_thresholds", "rules": [{"metric": "rms", "warn": 2, "alarm": 1}]},
        {"id": rid, "cmd": "set_thresholds", "rules": [1, 2]},
        {"id": rid, "cmd": "set", "window": 1000}, {"id": rid, "cmd": "set", "interval_s": float("nan") if False else 0},
        {"id": "x" * 65, "cmd": "ping"}, {"id": rid, "cmd": "capture", "kind": "spectrum", "axis": "w"},
    ])).encode()


def test_ten_thousand_fuzzed_commands(tmp_path):
    rng = random.Random(20261125)
    payloads = [gen(rng, i) for i in range(10000)]
    fs = write_fs(str(tmp_path / "fs"), node_config(1883))
    inp = str(tmp_path / "in.bin")
    with open(inp, "wb") as f:
        for p in payloads:
            f.write(struct.pack("<I", len(p)) + p)
    outp = str(tmp_path / "acks.txt")
    r = subprocess.run([MPY, "-X", "heapsize=2m", os.path.join(ROOT, "tests", "mpy", "cmdfuzz.py"), inp, outp],
                       cwd=fs, env=mpy_env(), capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    res = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
    acks = [json.loads(ln) for ln in open(outp).read().splitlines()]
    assert res["n"] == len(payloads) == len(acks)
    assert res["crashes"] == 0
    stats = {"valid_id": 0, "ok": 0, "errors": 0, "ignored": 0, "big": 0}
    last_iv = None
    last_win = None
    last_rules = None
    for p, ack in zip(payloads, acks):
        assert ack is None or "crash" not in ack, ack
        try:
            req = json.loads(p.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            req = None
        if len(p) > 4096:
            stats["big"] += 1
            assert ack is not None and ack["ok"] is False and "too large" in ack["error"], ack
            continue
        if isinstance(req, dict) and req.get("node") not in (None, NODE):
            stats["ignored"] += 1
            assert ack is None, (p[:200], ack)  # another node's command is not answered
            continue
        if isinstance(req, dict) and _depth(req) <= 6 and _valid_id(req.get("id")):
            stats["valid_id"] += 1
            assert ack is not None and ack["id"] == req["id"], (p[:200], ack)
        if ack is None:
            continue
        assert isinstance(ack["ok"], bool)
        if ack["ok"]:
            stats["ok"] += 1
            assert ack["cmd"] == req["cmd"]
            if req["cmd"] == "set":
                last_iv = req.get("interval_s", last_iv)
                last_win = req.get("window", last_win)
            if req["cmd"] == "set_thresholds":
                last_rules = req["rules"]
        else:
            stats["errors"] += 1
            assert isinstance(ack["error"], str) and ack["error"], ack
    assert stats["valid_id"] > 5000 and stats["ok"] > 2000 and stats["errors"] > 3000, stats
    assert stats["big"] > 100 and stats["ignored"] > 300, stats
    # the node ends with what the last accepted commands set, and it is saved for the next boot
    assert res["interval_ms"] == int(last_iv * 1000) and res["window"] == last_win
    saved = json.load(open(os.path.join(fs, "config.json")))
    assert saved["sampling"]["interval_s"] == last_iv and saved["sampling"]["window"] == last_win
    assert saved["alarms"]["rules"] == last_rules == res["rules"]
    # the heap does not shrink over the run (sampled every 500 payloads after a collection)
    h = res["heap"]
    assert min(h[len(h) // 2:]) >= min(h[:len(h) // 2]) - 4096, h
