# The envelope's rare cases (vibenode/commands.py loads this for the one message and drops it
# after): a message the broker delivered as retained, a command with "expires", a payload too large
# to parse. Each function takes the dispatcher (commands.Commands) first.
import json

from vibenode.cmdcheck import utf8_ok
from vibenode.commands import MAX_PAYLOAD, Invalid, valid_id


def id_hint(head):
    """The request id from the first bytes of a payload too large to parse, if it is there."""
    try:
        s = bytes(head).decode()
    except Exception:
        return None
    i = s.find('"id"')
    if i < 0:
        return None
    j = s.find('"', s.find(":", i) + 1)
    k = s.find('"', j + 1)
    if j < 0 or k < 0:
        return None
    v = s[j + 1:k]
    return v if valid_id(v) else None


def too_large(cmds, msg, head, size):
    """The error ack for a payload over MAX_PAYLOAD (msg None: drained by the link unread, `head`
    its first bytes, `size` its length), with its id when the first bytes show it."""
    n = size if msg is None else len(msg)
    return cmds._err(id_hint(head if msg is None else msg[:160]), None,
                     "payload too large: %d bytes, at most %d" % (n, MAX_PAYLOAD))


def retained(cmds, data):
    """A retained command is never executed: the broker would hand it over again on every
    reconnect (a retained reboot reboots for ever). Answered once per boot."""
    import binascii
    key = binascii.crc32(bytes(data or b""))
    if key in cmds.retained:
        return None
    cmds.retained.append(key)
    if len(cmds.retained) > 8:
        cmds.retained.pop(0)
    rid = None
    if data is not None and len(data) <= MAX_PAYLOAD and utf8_ok(data):
        try:
            rid = json.loads(data).get("id")
        except Exception:
            pass
    if not valid_id(rid):
        rid = id_hint(data) if data is not None else None
    return cmds._err(rid, None, "retained: commands must be published without the retain flag "
                                "(not executed; clear it with an empty retained message)")


def expiry(cmds, exp):
    """Raises Invalid unless the command may still run."""
    if isinstance(exp, bool) or not isinstance(exp, int) or exp < 0:
        raise Invalid("expires: must be a unix time in whole seconds")
    now = cmds.ctl.time()
    if now < 1600000000:
        raise Invalid("expires: the node's clock is not set, so it cannot tell whether the command expired")
    if now > exp:
        raise Invalid("expires: the command expired %d s ago" % (now - exp))
