# get_config: the running config with its secrets redacted (vibenode/commands.py loads this for
# the one command and drops it after).
#   {"id": "r6", "cmd": "get_config"}  ->  "result": the config, "***" for each secret's value
from vibenode.commands import only

_SECRET = ("password", "psk", "key", "client_key", "portal_psk", "user")


def run(ctl, req):
    only(req, ("id", "cmd", "node"))
    return redact(ctl.config())


def redact(obj):
    """obj with the secrets' values replaced: the dicts and lists on the way to a secret are
    copied, the rest is shared (the ack is encoded and dropped; nothing changes it)."""
    if isinstance(obj, dict):
        out = obj
        for k in obj:
            v = obj[k]
            r = "***" if (k in _SECRET and v is not None) else redact(v)
            if r is not v:
                if out is obj:
                    out = dict(obj)
                out[k] = r
        return out
    if isinstance(obj, list):
        out = obj
        for i in range(len(obj)):
            r = redact(obj[i])
            if r is not obj[i]:
                if out is obj:
                    out = list(obj)
                out[i] = r
        return out
    return obj
