# Sparkplug B payload reader for what an NCMD carries (metric name or alias, datatype, value),
# loaded when one arrives and dropped after (vibenode/sparkplug.py). Fields (sparkplug_b.proto):
# Payload.metrics=2; Metric name=1, alias=2, datatype=4, int_value=10, long_value=11,
# boolean_value=14, string_value=15; everything else is skipped by wire type.


def _rvi(b, i):
    v = 0
    s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        if not c & 0x80:
            return v, i
        s += 7
        if s > 63:
            raise ValueError("varint too long")


def _skip(b, i, wt):
    if wt == 0:
        return _rvi(b, i)[1]
    if wt == 1:
        return i + 8
    if wt == 5:
        return i + 4
    if wt == 2:
        n, i = _rvi(b, i)
        return i + n
    raise ValueError("wire type %d" % wt)


def _metric(b, i, end):
    name = alias = val = None
    dt = 0
    while i < end:
        k, i = _rvi(b, i)
        f = k >> 3
        wt = k & 7
        if wt == 2 and f in (1, 15):
            n, i = _rvi(b, i)
            if i + n > end:
                raise ValueError("truncated")
            s = str(bytes(b[i:i + n]), "utf-8")
            i += n
            if f == 1:
                name = s
            else:
                val = s
        elif wt == 0 and f in (2, 4, 10, 11, 14):
            v, i = _rvi(b, i)
            if f == 2:
                alias = v
            elif f == 4:
                dt = v
            else:
                val = bool(v) if f == 14 else v
        else:
            i = _skip(b, i, wt)
    if i != end:
        raise ValueError("truncated metric")
    return name, alias, dt, val


def decode(b):
    """The metrics of a payload (an NCMD): [(name or None, alias or None, datatype, value)].
    ValueError on a malformed payload."""
    out = []
    i = 0
    end = len(b)
    try:
        while i < end:
            k, i = _rvi(b, i)
            if k == 0x12:  # metrics, length-delimited
                n, i = _rvi(b, i)
                if i + n > end:
                    raise ValueError("truncated")
                out.append(_metric(b, i, i + n))
                i += n
            else:
                i = _skip(b, i, k & 7)
    except IndexError:
        raise ValueError("truncated payload")
    if i != end:
        raise ValueError("truncated payload")
    return out
