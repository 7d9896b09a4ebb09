# Draining a packet the session skips (lib/link/mqttproto.py): the rest of an oversized PUBLISH
# (its first HINT bytes went to the callback) or a packet type this client does not use. Rare
# (a command over MAX_IN, a broker's PUBREL), so Proto.step loads this for one slice and drops it.
import errno

from micropython import const

_STEP = const(32768)  # bytes drained per service() call at most (the rest next call)
_IN = const(1)  # select.POLLIN


def drain(p, deadline, what):
    """Discard up to _STEP bytes of the packet Proto p skips (waiting by the deadline, or only
    what is there when it is None); PUBACK once a QoS 1 one is drained. True when read any."""
    s = p.s
    buf = p.buf  # (the reader's scratch: one chunk)
    c = len(buf)
    got = 0
    while p.skip and got < _STEP:
        n = p.skip if p.skip < c else c
        k = s.readinto(buf, n)
        if k is None:
            if deadline is None:
                break
            p.wait(_IN, deadline, what)
            continue
        if k == 0:
            raise OSError(errno.ECONNRESET, "connection closed mid-packet")
        p.skip -= k
        got += k
    if got:
        p.owner.rx()
    if not p.skip and p.skip_pid:
        p.puback(p.skip_pid)
        p.skip_pid = 0
    return got > 0
