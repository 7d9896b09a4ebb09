# Ed25519 signature verification (RFC 8032, section 5.1.7) in MicroPython with arbitrary-precision
# ints: no well-kept MicroPython Ed25519 exists (dmazzella/ucryptography is a C module needing a
# custom firmware; the pure-Python ports are unmaintained copies), so this is ours, tested against
# the RFC 8032 vectors and CPython's `cryptography` (tests/test_ota_ed25519.py).
#
#   verify(public_key32, signature64, message) -> True / False    (never raises on bad input)
#
# Accepts exactly what OpenSSL (cryptography) accepts: S < L, canonical A and R encodings
# (y < p), and the cofactorless check encode([S]B - [k]A) == R, k = SHA-512(R || A || M) mod L.
# One combined double-and-add ladder over the bits of S and k (Straus), extended coordinates,
# one field inversion at the end. SHA-512: hashlib's when the port has it, else lib/ota/sha512.py.
# Verification runs once per update: the module is imported for it and dropped after.

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = 37095705934669439343138083508754565189542113879843219016388785533085940283555
_I = 19681161376707505956807079304988542015446066515923890162744021073123829784752  # sqrt(-1)
_BX = 15112221349535400772501151409588531511454012693041857206046113283949847762202
_BY = 46316835694926478169428394003475163141307993866256225615783033603165251855960


def _sha512(data):
    try:
        from hashlib import sha512
    except ImportError:
        from ota.sha512 import sha512
    return sha512(data).digest()


def _add(p, q):
    P = _P
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * 2 * _D * t2 % P
    d = z1 * 2 * z2 % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(p):
    P = _P
    x1, y1, z1, _ = p
    a = x1 * x1 % P
    b = y1 * y1 % P
    c = 2 * z1 * z1 % P
    h = a + b
    e = h - (x1 + y1) * (x1 + y1) % P
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _decode(s):
    """The point encoded by 32 bytes s, or None when s is not a canonical point encoding."""
    P = _P
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (_D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _I % P
        if (x * x - x2) % P:
            return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def _encode(p):
    P = _P
    x, y, z, _ = p
    zi = pow(z, P - 2, P)
    x = x * zi % P
    y = y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def verify(public, sig, msg):
    if len(public) != 32 or len(sig) != 64:
        return False
    r = bytes(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    a = _decode(public)
    if a is None or _decode(r) is None:
        return False
    k = int.from_bytes(_sha512(r + bytes(public) + bytes(msg)), "little") % _L
    P = _P
    na = ((P - a[0]) % P, a[1], a[2], (P - a[3]) % P)  # -A
    b = (_BX, _BY, 1, _BX * _BY % P)
    both = _add(b, na)
    q = (0, 1, 1, 0)
    for i in range(255, -1, -1):
        q = _double(q)
        bs = (s >> i) & 1
        bk = (k >> i) & 1
        if bs and bk:
            q = _add(q, both)
        elif bs:
            q = _add(q, b)
        elif bk:
            q = _add(q, na)
    return _encode(q) == r
