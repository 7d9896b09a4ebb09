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
    """The app tree appsel picks (None: no appsel here)."""
    try:
        import appsel  # the build tree's root (firmware/appsel.py), next to main.py
    except ImportError:
        sys.path.append(__file__.rsplit("/", 2)[0])  # <build>/lib/hostboot.mpy -> <build>
        try:
            import appsel
        except ImportError:
            return None
    return appsel.select()


def _bootloader():
    """The ESP-IDF bootloader's part of a reset: an emulated firmware slot switch or rollback
    (boards/host/esp32.py), when a firmware image was ever installed."""
    import os
    try:
        os.stat("fw/otadata.json")
    except OSError:
        return
    import esp32
    esp32.boot()


def run(max_boots=None, cycles=None):
    boots = 0
    app = ""  # the factory tree (the default path) until appsel says otherwise
    while max_boots is None or boots < max_boots:
        boots += 1
        # fresh application modules on every boot, like a reset would give; all of the app's
        # packages when the app tree changed (an update or a rollback)
        _bootloader()
        new = _select() or ""
        for name in list(sys.modules):
            if name.startswith("vibenode") or name == "board" or (new != app and name.split(".")[0] in APP):
                del sys.modules[name]
        app = new
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
