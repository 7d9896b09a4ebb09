"""Reassembly of on-request spectrum/waveform captures (docs/mqtt.md): a capture arrives as
chunks {id, node, seq, kind, axis, index, total, offset, count, scale_g, fmt, data (base64 of
little-endian u16/i16)}, index 0..total-1 over all requested axes, in any order, maybe twice.

    r = Reassembler(timeout_s=60)
    rec = r.add(node, chunk, rx)     # the capture record when its last chunk arrived, else None
    for node, rec in r.expire(now):  # captures whose chunks stopped coming: stored incomplete
        ...

A record: {"id", "kind", "seq", "complete", "meta": {df_hz, bins | rate, n, scale_g, fmt,
missing [chunk indices], errors? [text]}, "axes": {axis: [value in g, None where missing]}}.
Bounded: at most max_values per axis and max_pending captures in progress (the oldest is
given up, incomplete, beyond that).
"""
import base64
import json
import struct
import threading

FMT = {"u16le": "<%dH", "i16le": "<%dh"}


class Reassembler:
    def __init__(self, timeout_s=60.0, max_values=1 << 16, max_pending=256):
        self.timeout_s, self.max_values, self.max_pending = timeout_s, max_values, max_pending
        self._parts = {}
        self._lock = threading.Lock()
        self.assembled = 0

    def __len__(self):
        return len(self._parts)

    def add(self, node, m, rx):
        """Add one chunk; returns the finished record, or None. Beyond max_pending captures in
        progress the oldest is dropped (returned by the next expire())."""
        key = (node, m["kind"], json.dumps(m["id"]), m["seq"])
        with self._lock:
            p = self._parts.get(key)
            if p is None:
                p = self._parts[key] = {"rx": rx, "total": m["total"], "chunks": {}, "force": False}
                if len(self._parts) > self.max_pending:
                    oldest = min(self._parts, key=lambda k: self._parts[k]["rx"])
                    self._parts[oldest]["force"] = True
            p["chunks"][m["index"]] = m
            if len(p["chunks"]) < p["total"]:
                return None
            del self._parts[key]
        return self.assemble(p)

    def expire(self, now):
        """[(node, record)] of the captures older than timeout_s (or given up), incomplete."""
        with self._lock:
            old = [k for k, p in self._parts.items() if p["force"] or now - p["rx"] > self.timeout_s]
            parts = [(k, self._parts.pop(k)) for k in old]
        return [(k[0], self.assemble(p)) for k, p in parts]

    def assemble(self, p):
        axes, meta = {}, {}
        first = None
        for i in sorted(p["chunks"]):
            m = p["chunks"][i]
            first = first or m
            end = m["offset"] + m["count"]
            size = m.get("bins") or m.get("n") or end
            if max(size, end) > self.max_values:
                meta.setdefault("errors", []).append("chunk %d: over %d values" % (i, self.max_values))
                continue
            try:
                raw = base64.b64decode(m["data"], validate=True)
                vals = struct.unpack(FMT[m["fmt"]] % m["count"], raw[:2 * m["count"]])
            except (ValueError, struct.error, KeyError) as e:
                meta.setdefault("errors", []).append("chunk %d: %s" % (i, e))
                continue
            arr = axes.setdefault(m["axis"], [None] * size)
            if len(arr) < end:
                arr.extend([None] * (end - len(arr)))
            s = m["scale_g"]
            arr[m["offset"]:end] = [round(v * s, 7) for v in vals]
        for k in ("df_hz", "bins", "rate", "n", "scale_g", "fmt"):
            if k in first:
                meta[k] = first[k]
        meta["missing"] = [i for i in range(p["total"]) if i not in p["chunks"]]
        self.assembled += 1
        return {"id": first["id"], "kind": first["kind"], "seq": first["seq"],
                "complete": not meta["missing"] and "errors" not in meta, "meta": meta, "axes": axes}
