# What a command must pass before it may change anything, beyond its fields (commands.py):
#
#   utf8_ok(b)        the payload is well-formed UTF-8 (RFC 3629: no overlong forms, no
#                     surrogates, nothing above U+10FFFF). MicroPython's decoder does not check:
#                     b'\xc0\xaf' decodes to '/', and a JSON "\ud800" becomes the bytes ED A0 80,
#                     so an id echoed in the ack would make the ack invalid UTF-8.
#   printable(s)      a string safe to echo: well-formed, no C0/C1 control characters.
#   Applied           the ids of recently applied state-changing commands, kept on flash, so the
#                     same id sent twice (a retry, a redelivery, a replayed retained message)
#                     is applied once, even across the reboot it asked for.
import json

import micropython

from store import atomic

_KEEP = 16  # ids remembered
_FILE = "cmd_ids.json"


@micropython.viper
def _ascii_end(b) -> int:
    """Index of the first byte >= 0x80 in b, or len(b): the ASCII prefix, scanned in machine code
    (most payloads are all ASCII; a command flood must stay cheap). Its twin: the loop below."""
    p = ptr8(b)
    n = int(len(b))
    i = 0
    while i < n:
        if p[i] >= 0x80:
            return i
        i += 1
    return n


def utf8_ok(b):
    """True when bytes b are well-formed UTF-8."""
    n = len(b)
    i = _ascii_end(b)
    while i < n:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            k, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= c <= 0xEF:
            k = 2
            lo = 0xA0 if c == 0xE0 else 0x80
            hi = 0x9F if c == 0xED else 0xBF  # ED A0..BF are the surrogates
        elif 0xF0 <= c <= 0xF4:
            k = 3
            lo = 0x90 if c == 0xF0 else 0x80
            hi = 0x8F if c == 0xF4 else 0xBF
        else:
            return False
        if i + k >= n:  # truncated sequence
            return False
        d = b[i + 1]
        if d < lo or d > hi:
            return False
        for j in range(i + 2, i + k + 1):
            if b[j] & 0xC0 != 0x80:
                return False
        i += k + 1
    return True


def printable(s):
    """True for a str that may be echoed: well-formed UTF-8, no control characters."""
    if not isinstance(s, str):
        return False
    for ch in s:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o <= 0x9F:
            return False
    return utf8_ok(s.encode())


class Applied:
    """Ids of the last _KEEP state-changing commands applied (on flash, atomic)."""

    def __init__(self, path=_FILE):
        self.path = path
        self.ids = None  # read at first use (most boots see no command)

    def _load(self):
        if self.ids is None:
            self.ids = []
            raw = atomic.read(self.path)
            if raw:
                try:
                    v = json.loads(raw)
                    if isinstance(v, list):
                        self.ids = v[-_KEEP:]
                except ValueError:
                    pass
        return self.ids

    def seen(self, rid):
        return rid in self._load()

    def add(self, rid):
        """Remember rid; False when it could not be saved (the command is applied all the same:
        a full flash must not stop an operator's command)."""
        ids = self._load()
        ids.append(rid)
        if len(ids) > _KEEP:
            ids.pop(0)
        try:
            atomic.write(self.path, json.dumps(ids))
            return True
        except OSError:
            return False
