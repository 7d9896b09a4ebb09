"""lib/ota/ed25519.py and lib/ota/sha512.py on MicroPython against RFC 8032's test vectors
(section 7.1) and CPython's `cryptography` (random keys and messages; forged signatures
rejected: every bit of R, S, the key and the message flipped in turn, S + L, non-canonical y)."""
import hashlib
import os
import random

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

from conftest import mpy_case

L = 2 ** 252 + 27742317777372353535851937790883648493
# RFC 8032 7.1: TEST 1, 2, 3, 1024 and SHA(abc): (public key, message, signature)
RFC = [
    ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]


def _key():
    k = Ed25519PrivateKey.generate()
    pk = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return k, pk


def _flip(b, bit):
    b = bytearray(b)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def test_rfc8032_vectors():
    cases = [[pk, sig, m] for pk, m, sig in RFC]
    # each vector with one changed message byte must fail
    cases += [[pk, sig, (m or "00")[:-2] + "%02x" % (int((m or "00")[-2:], 16) ^ 1)] for pk, m, sig in RFC]
    r = mpy_case("ota_sig", "verify", {"cases": cases})
    assert r == [True] * len(RFC) + [False] * len(RFC)


def test_random_keys_against_cryptography_and_forgeries():
    rnd = random.Random(15)
    cases, want = [], []
    for i in range(12):
        k, pk = _key()
        m = os.urandom(rnd.choice((0, 1, 32, 100, 200, 700)))
        sig = k.sign(m)
        cases.append([pk.hex(), sig.hex(), m.hex()])
        want.append(True)
        # forgeries: a flipped bit in R, in S, in the key, in the message; S + L (malleability)
        for forged in ((pk, _flip(sig, rnd.randrange(256)), m), (pk, _flip(sig, 256 + rnd.randrange(252)), m),
                       (_flip(pk, rnd.randrange(255)), sig, m), (pk, sig, _flip(m, rnd.randrange(8 * len(m))) if m else b"x")):
            cases.append([forged[0].hex(), forged[1].hex(), forged[2].hex()])
            want.append(False)
        s_plus_l = (int.from_bytes(sig[32:], "little") + L).to_bytes(32, "little")
        cases.append([pk.hex(), (sig[:32] + s_plus_l).hex(), m.hex()])
        want.append(False)
        # another key's valid signature
        k2, pk2 = _key()
        cases.append([pk2.hex(), sig.hex(), m.hex()])
        want.append(False)
    # a non-canonical key encoding (y >= p) and wrong lengths
    p = 2 ** 255 - 19
    cases.append([(p + 1).to_bytes(32, "little").hex(), cases[0][1], cases[0][2]])
    want.append(False)
    cases.append([cases[0][0][:-2], cases[0][1], cases[0][2]])
    want.append(False)
    got = mpy_case("ota_sig", "verify", {"cases": cases}, timeout=300)
    assert got == want
    # cryptography agrees on every case (the ground truth for the forged ones too)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    for (pk, sig, m), w in zip(cases, want):
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(pk)).verify(bytes.fromhex(sig), bytes.fromhex(m))
            ok = True
        except Exception:
            ok = False
        assert ok == w


def test_sha512_matches_hashlib():
    msgs = [b"", b"abc", b"a" * 111, b"a" * 112, b"a" * 128, os.urandom(1000)]
    got = mpy_case("ota_sig", "sha", {"msgs": [m.hex() for m in msgs]})
    assert got == [hashlib.sha512(m).hexdigest() for m in msgs]
