# Host runner: boots the node on the unix port the way a chip would, over and over.
#
#   micropython -m hostboot            (working directory = the node's filesystem)
# machine.reset() unwinds to here and the node boots again with the right reset cause; an
# uncaught exception is a crash, followed by a reboot, as on the device.
import sys

import machine

# the application's packages (an update replaces them: firmware/appsel.py picks the tree)
APP = ("vibenode", "board", "ota", "store", "link", "report", "features", "sensors", "window", "boardcommon")


def _select():
    try:
        import appsel  # the build tree's root (firmware/appsel.py), next to main.py
    except ImportError:
        sys.path.append(__file__.rsplit("/", 2)[0])  # <build>/lib/hostboot.mpy -> <build>
        try:
            import appsel
        except ImportError:
            return
    appsel.select()


def run(max_boots=None, cycles=None):
    boots = 0
    while max_boots is None or boots < max_boots:
        boots += 1
        # fresh application modules on every boot, like a reset would give
        for name in list(sys.modules):
            if name.split(".")[0] in APP:
                del sys.modules[name]
        _select()
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
