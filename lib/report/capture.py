# Captures on request (contract: docs/mqtt.md): the raw window of an axis (waveform, int16
# little-endian) or the feature engine's spectrum (u16 bins), in base64 chunks of CHUNK raw bytes
# so that every message stays under 4 KB. Loaded for a capture and dropped after it.
import binascii
import json

from micropython import const

CHUNK = const(2400)  # raw bytes per message (base64 ~3.2 KB)


def _chunks(publish, head, axes, part, extra):
    """part(axis) -> (array to send, per-axis fields): copied as bytes one axis at a time (the
    live buffer may change once the next window starts); head, extra: fields of every message."""
    total = 0
    for a in axes:
        total += (len(part(a)[0]) * 2 + CHUNK - 1) // CHUNK  # 16-bit items
    i = 0
    for a in axes:
        arr, fields = part(a)
        raw = memoryview(bytes(memoryview(arr)))
        arr = None
        nb = len(raw)
        for off in range(0, nb, CHUNK):
            end = min(off + CHUNK, nb)
            msg = {"axis": "xyz"[a], "index": i, "total": total, "offset": off // 2, "count": (end - off) // 2,
                   "data": binascii.b2a_base64(raw[off:end]).decode().strip()}
            for d in (head, fields, extra):
                for k in d:
                    msg[k] = d[k]
            if not publish(json.dumps(msg)):
                return False
            msg = None
            i += 1
        raw = None
    return True


def waveform(publish, head, axes, smp, rate, scale):
    """The last window's samples of `axes` (int16 little-endian on every supported chip)."""
    head["kind"] = "waveform"
    return _chunks(publish, head, axes, lambda a: (smp.axes[a], {}),
                   {"n": smp.n, "rate": rate, "scale_g": scale, "fmt": "i16le"})


def spectrum(publish, head, axes, eng, kind="spectrum"):
    """The feature engine's spectrum_u16(axis) -> (array('H') bins, bin width Hz, g per count);
    kind "envelope": the streamed envelope spectrum (features/stream.py, the same interface)."""
    head["kind"] = kind

    def part(a):
        bins, df, scale = eng.spectrum_u16(a)
        return bins, {"bins": len(bins), "df_hz": df, "scale_g": scale}

    return _chunks(publish, head, axes, part, {"fmt": "u16le"})
