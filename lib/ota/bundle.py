# The signed update manifest (written by tools/release.py):
#
#   line 1:  {"board": "esp32_devkitc", "arch": "xtensawin", "version": "0.2.0", "n": 62, "size": 181234}
#   then n:  "<sha256 hex> <size> <path>"      (path under the app tree, e.g. lib/vibenode/node.mpy;
#                                               last, optionally, fw/micropython.bin: a firmware image)
#
# signed with the fleet's Ed25519 update key over  DOMAIN + SHA-256(manifest bytes)  (the node
# hashes the manifest with hashlib's sha256 as it streams in; only a 48-byte message goes through
# SHA-512). One line per file, so the node reads the entry it needs from flash, never the whole
# manifest into RAM. The node holds only the public key (ota.pub, 32 bytes, provisioned).
from micropython import const

DOMAIN = b"vibenode-ota-v1\n"
MAX_FILES = const(256)
MAX_SIZE = const(262144)  # one app file
FW_PATH = "fw/micropython.bin"  # a firmware image (boards/common/fwimage.py), the manifest's last line
_FW_MAX = const(4194304)
# sys.implementation._mpy >> 10: the native code this VM runs (MicroPython's MP_NATIVE_ARCH_*)
_ARCHES = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
           "xtensawin", "rv32imc")


class OtaError(Exception):
    pass


def node_arch():
    import sys
    a = (sys.implementation._mpy >> 10) & 0xF
    return _ARCHES[a] if a < len(_ARCHES) else None


def message(digest):
    """What the signature covers: DOMAIN + the manifest's SHA-256."""
    return DOMAIN + digest


def verify(pub, sig, digest):
    """Raise OtaError unless sig is the update key's signature of the manifest digest. The
    verifier's code is loaded for this and dropped after."""
    import sys
    from ota import ed25519
    try:
        ok = ed25519.verify(pub, sig, message(digest))
    finally:
        ed25519 = None
        sys.modules.pop("ota.ed25519", None)
        sys.modules.pop("ota.sha512", None)
    if not ok:
        raise OtaError("bad signature: the manifest is not signed by this fleet's update key")


def header(line, board):
    """The manifest's first line, checked against this node (board name, code arch)."""
    import json
    try:
        h = json.loads(line)
        n = h["n"]
        ok = isinstance(h, dict) and isinstance(h["version"], str) and isinstance(n, int) and 0 < n <= MAX_FILES
    except Exception:
        ok = False
    if not ok:
        raise OtaError("manifest: malformed header")
    if h.get("board") != board:
        raise OtaError("wrong board: update for %s, this node is %s" % (h.get("board"), board))
    arch = node_arch()
    if h.get("arch") != arch:
        raise OtaError("wrong arch: update for %s, this node runs %s" % (h.get("arch"), arch))
    return h


def _path_ok(p):
    if not p.startswith("lib/") or ".." in p or "//" in p or len(p) > 96:
        return False
    for c in p:
        if not (c.isalpha() or c.isdigit() or c in "_-./"):
            return False
    return True


def entry(line):
    """(sha256 digest bytes, size, path) of one manifest line."""
    import binascii
    try:
        hx, size, path = line.split(" ")
        size = int(size)
        d = binascii.unhexlify(hx)
        ok = len(d) == 32 and ((0 <= size <= MAX_SIZE and _path_ok(path)) or (path == FW_PATH and 0 < size <= _FW_MAX))
    except Exception:
        ok = False
    if not ok:
        raise OtaError("manifest: malformed entry")
    return d, size, path


def read_line(path, i):
    """Line i (0 = header) of the manifest file, read line by line (bounded memory)."""
    with open(path) as f:
        for k, line in enumerate(f):
            if k == i:
                return line.rstrip("\n")
    raise OtaError("manifest: entry %d missing" % i)
