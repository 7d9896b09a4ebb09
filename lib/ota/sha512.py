# SHA-512 (FIPS 180-4) for Ed25519 verification (lib/ota/ed25519.py). MicroPython's hashlib has
# no sha512 on the ESP32 port (mbedtls sha1/sha256/md5 only) nor on the unix port (md5, sha1,
# sha256), so here it is in plain Python with arbitrary-precision ints. It is slow (64-bit words
# are heap ints on a 32-bit chip) but Ed25519 hashes only R || A || M once per update, and the
# OTA manifest signs a 32-byte digest, so M is short: one or two blocks.
# Loaded only during an update (the constant table is built on first use) and dropped after.

_M = 0xFFFFFFFFFFFFFFFF
_K = None
_KHEX = ("428a2f98d728ae22 7137449123ef65cd b5c0fbcfec4d3b2f e9b5dba58189dbbc 3956c25bf348b538 "
         "59f111f1b605d019 923f82a4af194f9b ab1c5ed5da6d8118 d807aa98a3030242 12835b0145706fbe "
         "243185be4ee4b28c 550c7dc3d5ffb4e2 72be5d74f27b896f 80deb1fe3b1696b1 9bdc06a725c71235 "
         "c19bf174cf692694 e49b69c19ef14ad2 efbe4786384f25e3 0fc19dc68b8cd5b5 240ca1cc77ac9c65 "
         "2de92c6f592b0275 4a7484aa6ea6e483 5cb0a9dcbd41fbd4 76f988da831153b5 983e5152ee66dfab "
         "a831c66d2db43210 b00327c898fb213f bf597fc7beef0ee4 c6e00bf33da88fc2 d5a79147930aa725 "
         "06ca6351e003826f 142929670a0e6e70 27b70a8546d22ffc 2e1b21385c26c926 4d2c6dfc5ac42aed "
         "53380d139d95b3df 650a73548baf63de 766a0abb3c77b2a8 81c2c92e47edaee6 92722c851482353b "
         "a2bfe8a14cf10364 a81a664bbc423001 c24b8b70d0f89791 c76c51a30654be30 d192e819d6ef5218 "
         "d69906245565a910 f40e35855771202a 106aa07032bbd1b8 19a4c116b8d2d0c8 1e376c085141ab53 "
         "2748774cdf8eeb99 34b0bcb5e19b48a8 391c0cb3c5c95a63 4ed8aa4ae3418acb 5b9cca4f7763e373 "
         "682e6ff3d6b2b8a3 748f82ee5defb2fc 78a5636f43172f60 84c87814a1f0ab72 8cc702081a6439ec "
         "90befffa23631e28 a4506cebde82bde9 bef9a3f7b2c67915 c67178f2e372532b ca273eceea26619c "
         "d186b8c721c0c207 eada7dd6cde0eb1e f57d4f7fee6ed178 06f067aa72176fba 0a637dc5a2c898a6 "
         "113f9804bef90dae 1b710b35131c471b 28db77f523047d84 32caab7b40c72493 3c9ebe0a15c9bebc "
         "431d67c49c100d4c 4cc5d4becb3e42b6 597f299cfc657e2a 5fcb6fab3ad6faec 6c44198c4a475817")
_H0 = ("6a09e667f3bcc908 bb67ae8584caa73b 3c6ef372fe94f82b a54ff53a5f1d36f1 "
       "510e527fade682d1 9b05688c2b3e6c1f 1f83d9abfb41bd6b 5be0cd19137e2179")


def _consts():
    global _K
    if _K is None:
        _K = [int(h, 16) for h in _KHEX.split()]
    return _K


def _ror(x, n):
    return ((x >> n) | (x << (64 - n))) & _M


def _block(h, blk, K):
    w = [int.from_bytes(blk[i:i + 8], "big") for i in range(0, 128, 8)]
    for i in range(16, 80):
        a = w[i - 15]
        b = w[i - 2]
        s0 = _ror(a, 1) ^ _ror(a, 8) ^ (a >> 7)
        s1 = _ror(b, 19) ^ _ror(b, 61) ^ (b >> 6)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M)
    a, b, c, d, e, f, g, hh = h
    for i in range(80):
        t1 = (hh + (_ror(e, 14) ^ _ror(e, 18) ^ _ror(e, 41)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) & _M
        t2 = ((_ror(a, 28) ^ _ror(a, 34) ^ _ror(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))) & _M
        hh = g
        g = f
        f = e
        e = (d + t1) & _M
        d = c
        c = b
        b = a
        a = (t1 + t2) & _M
    for i, v in enumerate((a, b, c, d, e, f, g, hh)):
        h[i] = (h[i] + v) & _M


class sha512:
    """hashlib-style: sha512(data).update(more).digest() (64 bytes)."""

    def __init__(self, data=None):
        self._h = [int(x, 16) for x in _H0.split()]
        self._buf = b""
        self._n = 0
        if data:
            self.update(data)

    def update(self, data):
        K = _consts()
        self._n += len(data)
        buf = self._buf + bytes(data)
        i = 0
        while len(buf) - i >= 128:
            _block(self._h, buf[i:i + 128], K)
            i += 128
        self._buf = buf[i:]
        return self

    def digest(self):
        h = list(self._h)
        n = self._n
        tail = self._buf + b"\x80" + bytes((111 - n) % 128) + (n * 8).to_bytes(16, "big")
        K = _consts()
        for i in range(0, len(tail), 128):
            _block(h, tail[i:i + 128], K)
        return b"".join(v.to_bytes(8, "big") for v in h)
