# Ed25519 verification and SHA-512 on MicroPython (tests/test_ota_ed25519.py): the pytest side
# makes the vectors (RFC 8032 and CPython's `cryptography`) and judges the answers.
import binascii
import sys

from harness import main
from ota import ed25519
from ota.sha512 import sha512

u = binascii.unhexlify


def verify(args):
    """args["cases"]: [[pk hex, sig hex, msg hex], ...] -> [True/False, ...]"""
    return [ed25519.verify(u(pk), u(sig), u(m)) for pk, sig, m in args["cases"]]


def sha(args):
    return [binascii.hexlify(sha512(u(m)).digest()).decode() for m in args["msgs"]]


if __name__ == "__main__":
    main(globals())
