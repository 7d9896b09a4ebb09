# vibenode: the application that runs on a node (sensor -> window -> features -> report -> link).
VERSION = "0.1.0"


def drop(name):
    """Unload a rarely used module (its .mpy code sits in the heap): the next use imports it
    again. The package attribute goes too, or the module object would stay referenced."""
    import sys
    sys.modules.pop(name, None)
    pkg, _, leaf = name.rpartition(".")
    parent = sys.modules.get(pkg)
    if parent is not None and leaf in parent.__dict__:  # (no exception: it may run in a full heap)
        delattr(parent, leaf)


def small_heap():
    """A GC heap under 512 KB: a board without PSRAM (the node collects often there, and a
    wide-band chip streams one axis unless told otherwise: vibenode/app.py, wideband.py)."""
    import gc
    return gc.mem_alloc() + gc.mem_free() < 524288
