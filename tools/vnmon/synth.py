"""Synthetic, schema-valid vibenode messages (for ingest benchmarks and collector tests): the
shape of a real node's telemetry (docs/mqtt.md, firmware/vibenode/app.py measure()) with
plausible values; not a simulation of a machine (the host board does that: fleetsim.py).
"""
import base64
import json
import math
import struct


def axis(k, a, seq):
    """Features of one axis (k: node index, a: axis index)."""
    base = 0.2 + 0.05 * ((k + a) % 7)
    w = 1 + 0.05 * math.sin(seq / 10.0 + a)
    rms = round(base * w, 4)
    vel = round(1.0 + 0.6 * ((k * 3 + a) % 5) * w, 3)
    iso = "A" if vel < 1.4 else "B" if vel < 2.8 else "C" if vel < 4.5 else "D"
    d = {"mean": 0.001, "rms": rms, "pk": round(rms * 1.5, 4), "p2p": round(rms * 3, 4), "cf": 1.5,
         "sk": -0.01, "ku": 2.9, "f0": 24.67, "pks": [[24.67, rms], [49.3, rms / 3], [88.4, rms / 9]],
         "bands": [0.001, rms, 0.05, 0.01], "hf": 0.0007, "vel": vel, "iso": iso}
    if a == 0:
        d["env"] = {"dom": "BPFO", "r": round(2 + (k % 4) * w, 2), "a": round(0.002 * w, 5)}
    return d


def telemetry(node, seq, ts, k=0, **extra):
    m = {"node": node, "seq": seq, "ts": ts, "rate": 3199.5, "n": 2048, "odr": 3200,
         "x": axis(k, 0, seq), "y": axis(k, 1, seq), "z": axis(k, 2, seq), "temp_c": round(40 + k % 10 + seq * 0.001, 3)}
    m.update(extra)
    return m


def status(node, state="online", seq0=1, interval_s=1):
    if state == "offline":
        return {"state": "offline", "node": node}
    return {"state": state, "node": node, "fw": "0.synthetic", "board": "synthetic", "sensors": ["adxl345@spi1:5"],
            "engine": "viper", "errors": {}, "reset_cause": "power_on", "seq0": seq0, "queued": 0,
            "interval_s": interval_s, "window": 2048, "safe_mode": False}


def capture_chunks(node, rid, seq, kind, values_by_axis, scale_g, per_chunk=1200, **meta):
    """Chunk messages of a capture (kind spectrum: u16 values, meta df_hz; waveform: i16, meta
    rate): values_by_axis {axis: [ints]}; index runs over all axes."""
    fmt = "u16le" if kind == "spectrum" else "i16le"
    code = "<%dH" if kind == "spectrum" else "<%dh"
    parts = []
    for ax, vals in values_by_axis.items():
        for off in range(0, len(vals), per_chunk):
            part = vals[off:off + per_chunk]
            m = {"id": rid, "node": node, "seq": seq, "kind": kind, "axis": ax, "offset": off, "count": len(part),
                 "scale_g": scale_g, "fmt": fmt, "data": base64.b64encode(struct.pack(code % len(part), *part)).decode()}
            if kind == "spectrum":
                m["bins"] = len(vals)
            else:
                m["n"] = len(vals)
            m.update(meta)
            parts.append(m)
    for i, m in enumerate(parts):
        m["index"] = i
        m["total"] = len(parts)
    return parts


def dumps(m):
    return json.dumps(m, separators=(",", ":")).encode()
