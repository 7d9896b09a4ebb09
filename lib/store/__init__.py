# store: what the node keeps on its filesystem across power cuts: atomic small files
# (atomic.py), the per-node sequence counter (seqno.py) and the store-and-forward queue of
# undelivered readings (queue.py). Written for littlefs on the ESP32 (VfsLfs2) and tested on a
# RAM block device with a power cut at every block write.


def drop(leaf):
    """Unload store.<leaf> (code for a rare step: the queue's boot scan, its replay): out of
    sys.modules and off this package, so its bytecode is freed; the next use imports it again."""
    import sys
    sys.modules.pop("store." + leaf, None)
    globals().pop(leaf, None)
