# What a storage failure means, for status and logs ("queue: no space left on device"): loaded
# by store.atomic.describe() when a write failed, dropped after.

_ERRNO = {28: "no space left on device", 30: "read-only filesystem", 5: "I/O error", 2: "no such file",
          13: "permission denied", 12: "out of memory", 24: "too many open files"}


def describe(e):
    n = e.args[0] if isinstance(e, OSError) and e.args and isinstance(e.args[0], int) else None
    if n is None:
        return str(e) or type(e).__name__
    return _ERRNO.get(n, "storage error %d" % n)
