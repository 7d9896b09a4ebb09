# Host runner: boots the node on the unix port the way a chip would, over and over.
#
#   micropython -m hostboot            (working directory = the node's filesystem)
# machine.reset() unwinds to here and the node boots again with the right reset cause; an
# uncaught exception is a crash, followed by a reboot, as on the device.
import sys

import machine


def run(max_boots=None, cycles=None):
    boots = 0
    while max_boots is None or boots < max_boots:
        boots += 1
        # fresh application modules on every boot, like a reset would give
        for name in list(sys.modules):
            if name.startswith("vibenode") or name == "board":
                del sys.modules[name]
        try:
            import vibenode.app
            vibenode.app.main(cycles)
            return
        except machine.ResetRequested as r:
            machine._reset_cause = r.cause
            print("hostboot: reset (cause %d)" % r.cause)
        except KeyboardInterrupt:
            print("hostboot: stopped")
            return


if __name__ == "__main__":
    run()
