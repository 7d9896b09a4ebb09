# The config files' names and the last good pair. config.json + secrets.json become
# config.good.json + secrets.good.json once the node ran on them (node.py: its first published
# reading; config.py validated them at boot, or when a command saved them). Small and without the
# validator, so the running node loads little for that one call (and drops it after).
import os

PATH = "config.json"
SECRETS = "secrets.json"
GOOD = "config.good.json"
SECRETS_GOOD = "secrets.good.json"


def read(name):
    """The file's bytes, or None when it is not there."""
    try:
        with open(name, "rb") as f:
            return f.read()
    except OSError:
        return None


def keep(cdata, sdata):
    """cdata/sdata (bytes; sdata None: no secrets) as the last good pair, written only where they
    changed (store.atomic: after a power cut the old or the new copy)."""
    from store import atomic
    if read(GOOD) != cdata:
        atomic.write(GOOD, cdata, keep=False)
    if sdata is None:
        if read(SECRETS_GOOD) is not None:
            os.remove(SECRETS_GOOD)
    elif read(SECRETS_GOOD) != sdata:
        atomic.write(SECRETS_GOOD, sdata, keep=False)


def promote():
    """The pair the node runs on becomes the last good one. Raises OSError (MemoryError) when the
    filesystem (heap) refuses: the previous last good pair is then left as it was."""
    cdata = read(PATH)
    if cdata is not None:
        keep(cdata, read(SECRETS))
