# Which modules a boot of the node imports (run with the node's filesystem as working directory).
# Every import statement goes through builtins.__import__; after each one the modules that are
# new in sys.modules are recorded with their file, so code the node loads and drops again (the
# portal, the feature setup, command handling) is seen too. Then the node boots through hostboot
# for a few cycles, as the device would (main.py -> vibenode.app.main).
# Prints one line per module: MOD <name> <file or ->.
import builtins
import sys

seen = {}
_import = builtins.__import__


def _record(*args):
    m = _import(*args)
    for k, v in sys.modules.items():
        if k not in seen:
            seen[k] = getattr(v, "__file__", None)
    return m


builtins.__import__ = _record

import hostboot  # noqa: E402

hostboot.run(cycles=int(sys.argv[1]) if len(sys.argv) > 1 else 3)
builtins.__import__ = _import
for name in sorted(seen):
    print("MOD", name, seen[name] or "-")
