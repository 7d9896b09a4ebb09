# Firmware (MicroPython image) updates through esp32.Partition, behind the same signed manifest
# as application updates (lib/ota): a manifest line "<sha256> <size> fw/micropython.bin" is
# streamed here instead of into the app tree.
#
#   w = ImageWriter(size)        the next OTA slot (Partition(RUNNING).get_next_update())
#   w.write(chunk) ...           4 KB flash blocks, erased and written as they fill
#   w.finish()                   pads the last block, set_boot(): the next reset runs the image
#   mark_valid()                 the new image proved itself (a delivered reading):
#                                Partition.mark_app_valid_cancel_rollback()
# With the bootloader's rollback enabled (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, as in
# MicroPython's ESP32 OTA builds) an image that is not marked valid before the next reset is
# abandoned by the bootloader, which boots the previous slot. The image's SHA-256 is checked by
# lib/ota against the signed manifest before finish() is called. On the host board, `esp32` is
# boards/host/esp32.py, an emulation of the same calls over files.
import esp32
from micropython import const

_BLK = const(4096)


class ImageWriter:
    def __init__(self, size):
        self.part = esp32.Partition(esp32.Partition.RUNNING).get_next_update()
        cap = self.part.ioctl(4, 0) * self.part.ioctl(5, 0)
        if size > cap:
            raise OSError(28)  # ENOSPC: the image does not fit the slot
        self.buf = bytearray(_BLK)
        self.fill = 0
        self.blk = 0

    def write(self, data):
        mv = memoryview(data)
        while len(mv):
            k = min(_BLK - self.fill, len(mv))
            self.buf[self.fill:self.fill + k] = mv[:k]
            self.fill += k
            mv = mv[k:]
            if self.fill == _BLK:
                self.part.writeblocks(self.blk, self.buf)  # (no offset: erase, then write)
                self.blk += 1
                self.fill = 0

    def finish(self):
        if self.fill:
            for i in range(self.fill, _BLK):
                self.buf[i] = 0xFF
            self.part.writeblocks(self.blk, self.buf)
            self.fill = 0
        self.part.set_boot()

    def slot(self):
        return self.part.info()[4]


def mark_valid():
    esp32.Partition.mark_app_valid_cancel_rollback()


def running():
    return esp32.Partition(esp32.Partition.RUNNING).info()[4]
