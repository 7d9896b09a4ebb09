# Small files replaced atomically, with the last good copy kept.
#
#   write(path, data): data -> path.new (closed, so committed), path -> path.bak, path.new -> path
#                      (keep=False: path.new -> path, no .bak)
#   read(path, ok):    path if ok(data), else path.bak if ok(data), else None
#
# A power cut at any point leaves either the old or the new content readable: before the first
# rename `path` is the old file; between the renames `path` is missing and `path.bak` is the old
# file; after the second rename `path` is the new one. littlefs commits a file at close and makes
# rename atomic; on a POSIX filesystem (the host) both hold too. `ok` lets the reader reject a
# file that is there but damaged (e.g. by a filesystem without those guarantees).
import os

from micropython import const

_ENOSPC = const(28)


def describe(e):
    """A storage exception as words, e.g. OSError(28) -> "no space left on device" (the words:
    store/errtext.py, loaded for a failure and dropped after)."""
    from store import drop
    try:
        from store.errtext import describe
        return describe(e)
    except MemoryError:  # (not even the heap for the words)
        return "storage error"
    finally:
        describe = None
        drop("errtext")


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _rename(src, dst):
    try:
        os.rename(src, dst)
    except OSError:
        # FAT refuses to rename over an existing file
        if not _exists(dst):
            raise
        os.remove(dst)
        os.rename(src, dst)


def write(path, data, keep=True):
    """Raises OSError when the filesystem refuses (full, read-only); `path` then still holds the
    old content and no partial path.new is left behind to take space. keep=False: no .bak copy
    (a caller that keeps its own last good copy)."""
    tmp = path + ".new"
    try:
        with open(tmp, "wb") as f:
            if f.write(data) != len(data):  # a short write: FAT with no free cluster left
                raise OSError(_ENOSPC)
    except OSError:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    if keep and _exists(path):
        _rename(path, path + ".bak")
    _rename(tmp, path)


def read(path, ok=None):
    """The content of path (bytes), or of its last good copy, or None."""
    for p in (path, path + ".bak"):
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            continue
        if ok is None or ok(data):
            return data
    return None


def _json_ok(data):
    import json
    try:
        return isinstance(json.loads(data), dict)
    except Exception:
        return False


def read_json(path, default=None):
    import json
    data = read(path, _json_ok)
    if data is None:
        return default
    return json.loads(data)


def write_json(path, obj):
    import json
    write(path, json.dumps(obj).encode())


def remove(path):
    for p in (path, path + ".bak", path + ".new"):
        try:
            os.remove(p)
        except OSError:
            pass
