# Flash cost of the store on littlefs with the ESP32's geometry (4096-byte erase blocks): a RAM
# block device counts bytes programmed and blocks erased, per queued reading (link down) and per
# reading in normal operation (link up: only the sequence counter's reservations).
import json
import os

from store.queue import Queue
from store.seqno import SeqCounter

BS = 4096
NBLK = 128  # 512 KB


class CountingBdev:
    def __init__(self):
        self.data = bytearray(b"\xff" * (BS * NBLK))
        self.prog = 0
        self.erases = 0

    def readblocks(self, b, buf, off=0):
        a = b * BS + off
        mv = memoryview(self.data)
        buf[:] = mv[a:a + len(buf)]

    def writeblocks(self, b, buf, off=0):
        a = b * BS + off
        memoryview(self.data)[a:a + len(buf)] = buf
        self.prog += len(buf)

    def ioctl(self, op, arg):
        if op == 4:
            return NBLK
        if op == 5:
            return BS
        if op == 6:
            self.erases += 1
            return 0
        return 0


bd = CountingBdev()
os.VfsLfs2.mkfs(bd)
os.mount(os.VfsLfs2(bd), "/f")
payload = b'{"node": "n", "seq": 1, "pad": "' + b"x" * 660 + b'"}'  # a ~700-byte reading
q = Queue("/f/q", capacity=10000)
p0, e0 = bd.prog, bd.erases
N = 200
for i in range(N):
    q.push(0, payload)
queued = {"bytes": (bd.prog - p0) / N, "erases": (bd.erases - e0) / N, "payload": len(payload)}
p0, e0 = bd.prog, bd.erases
while len(q):
    q.peek()
    q.pop()
replay = {"bytes": (bd.prog - p0) / N, "erases": (bd.erases - e0) / N}
s = SeqCounter("/f/seq.json", block=100)
p0, e0 = bd.prog, bd.erases
M = 5000
for i in range(M):
    s.take()
normal = {"bytes": (bd.prog - p0) / M, "erases": (bd.erases - e0) / M}
print("RESULT " + json.dumps({"queued": queued, "replay": replay, "normal": normal, "block": BS}))
