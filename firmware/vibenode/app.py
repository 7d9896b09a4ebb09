# Boot: config -> board -> supervisor -> the node (vibenode/node.py), and crash handling.
#
#   import vibenode.app; vibenode.app.main()        (firmware/main.py; boards/host/hostboot.py)
#
# A config that does not validate falls back to the last good one (status says why); with none
# usable the node offers the provisioning portal instead of MQTT. A config becomes the last good
# one once the node published a reading on it (node.py); when the boot raises on config.json's
# content, the node runs on the last good pair for this boot (status says why). The boot
# (vibenode/appboot.py: config validation, TLS setup, portal, board, supervisor, node) is loaded
# for the boot and dropped after (imported .mpy code sits in the heap). An unhandled error keeps
# its traceback for the next boot's crash event (supervisor) and restarts the chip.
import gc

from micropython import const

from vibenode import drop, small_heap

# A small heap (no PSRAM) is collected after every _GC_EVERY bytes allocated, not only when it is
# full: garbage (a window's result, a command) is then freed before it is spread over the whole
# heap, and the node runs in ~5 KB less heap (tools/memory.py, 32-bit). A PSRAM heap of megabytes
# is left alone: each collection there sweeps megabytes.
_GC_EVERY = const(4096)


def main(cycles=None):
    if small_heap():
        gc.threshold(_GC_EVERY)
    from vibenode import appboot
    b = appboot.prepare()
    if b is None:
        appboot = None
        drop("vibenode.appboot")
        return None
    sup = b[5]
    node = None
    try:
        node = appboot.node(b)
        b = appboot = None
        drop("vibenode.appboot")
        gc.collect()
        node.run(cycles)
    except Exception as e:
        if type(e).__name__ == "ResetRequested":  # the host board's machine.reset()
            raise
        # an unhandled error: keep the traceback for the next boot's event, then restart (the
        # node goes first: the crash code needs heap, a MemoryError may have taken it all)
        node = b = appboot = None
        drop("vibenode.appboot")
        gc.collect()
        import sys
        sys.print_exception(e)
        sup.crashed(e)
        import machine
        machine.reset()
    return node
