# An emulation of MicroPython's esp32.Partition OTA calls for the host board (boards/common/
# fwimage.py runs on it unchanged): two app slots ota_0 / ota_1 as files under fw/ in the node's
# filesystem, and the bootloader's otadata with rollback (ESP-IDF's
# CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE):
#   set_boot() on a slot marks it "new"; the next boot() runs it as "pending_verify";
#   mark_app_valid_cancel_rollback() makes it "valid"; a boot() while still pending_verify
#   abandons it and runs the previous slot (as the bootloader does after a reset).
# boot() is what a reset does: boards/host/hostboot.py calls it at every boot.
import json
import os

_DIR = "fw"
_DATA = "fw/otadata.json"
_BLOCKS = 64  # 256 KB slots: enough for the tests' images
_BS = 4096


def _load():
    try:
        with open(_DATA) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"running": "ota_0", "boot": "ota_0", "state": "valid", "prev": None}


def _save(d):
    try:
        os.mkdir(_DIR)
    except OSError:
        pass
    with open(_DATA + ".new", "w") as f:
        f.write(json.dumps(d))
    os.rename(_DATA + ".new", _DATA)


def boot():
    """A reset: the bootloader picks the slot to run. Returns its label."""
    d = _load()
    if d["state"] == "pending_verify":  # the new image never said it works: back to the old
        d["boot"] = d["running"] = d["prev"]
        d["state"] = "valid"
        d["rolled_back"] = True
    elif d["state"] == "new":
        d["prev"] = d["running"]
        d["running"] = d["boot"]
        d["state"] = "pending_verify"
    _save(d)
    return d["running"]


class Partition:
    RUNNING = 1
    BOOT = 0

    def __init__(self, which):
        if which == Partition.RUNNING:
            which = _load()["running"]
        elif which == Partition.BOOT:
            which = _load()["boot"]
        self.label = which

    def info(self):
        # (type, subtype, addr, size, label, encrypted)
        return (0, 0x10 + int(self.label[-1]), 0x10000 + int(self.label[-1]) * _BLOCKS * _BS, _BLOCKS * _BS,
                self.label, False)

    def get_next_update(self):
        return Partition("ota_1" if self.label == "ota_0" else "ota_0")

    def _path(self):
        return "%s/%s.bin" % (_DIR, self.label)

    def writeblocks(self, block, buf, offset=None):
        try:
            os.mkdir(_DIR)
        except OSError:
            pass
        p = self._path()
        try:
            f = open(p, "r+b")
        except OSError:
            f = open(p, "wb")
        with f:
            f.seek(block * _BS + (offset or 0))
            f.write(buf)

    def readblocks(self, block, buf, offset=0):
        with open(self._path(), "rb") as f:
            f.seek(block * _BS + offset)
            f.readinto(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return _BLOCKS
        if op == 5:
            return _BS
        return 0

    def set_boot(self):
        d = _load()
        d["boot"] = self.label
        d["state"] = "new"
        _save(d)

    @staticmethod
    def mark_app_valid_cancel_rollback():
        d = _load()
        if d["state"] == "pending_verify":
            d["state"] = "valid"
            _save(d)
