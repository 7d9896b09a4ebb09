# An update delivered over MQTT in chunks (the node asks, tools/otaserve.py answers):
#
#   node   -> <base>ota/get   {"v": "0.2.0", "f": "m" | "s" | 1..n, "o": offset, "n": 1024}   (QoS 1)
#   server -> <base>ota/data  '{"v": .., "f": .., "o": .., "t": total}\n' + up to n bytes     (QoS 1)
#
# With a "url" (the `ota` command's) the same steps go as ranged HTTP GETs (lib/ota/http.py) of
# <url>/manifest.txt, manifest.sig and each file's path: nothing else changes.
# "m" is the manifest, "s" its signature, 1..n the files (manifest lines). One request is
# outstanding at a time and one answer is held (bounded memory: one chunk); a lost answer is
# asked for again after RETRY_MS and after every reconnect. Progress survives a reboot: the step
# is in ota/state.json and a file's offset is its length on flash (lib/ota/stage.py), so a
# power cut or an outage resumes where it stopped. The signature is checked before any file is
# fetched; board and arch before any file is written; every file's SHA-256 and size before the
# pointer switches. Errors end the session with the old app untouched and the staging removed.
import json
import os

from micropython import const

from ota import bundle as mf
from ota import stage
from ota.bundle import OtaError

from ota import WORK as DIR

STATE = DIR + "/state.json"
MAN = DIR + "/manifest.txt"
SIG = DIR + "/manifest.sig"
PUB = "ota.pub"
CHUNK = const(1024)
RETRY_MS = const(4000)
_MAX_META = const(32768)  # manifest bytes at most


class Session:
    """io: link (publish, up), clock (ticks_ms...), event(fields) -> bool, topics (ota_get, ota_data)."""

    def __init__(self, io, board, state):
        self.io = io
        self.board = board
        self.st = state  # {"id", "v", "f", "dir", "n"}
        self.msg = None  # the one held answer
        self.sent_ms = None
        self.off = None  # offset of the current file (None: look it up)
        self.h = None  # sha256 of the current file so far
        self.size = None  # expected size of the current file
        self.path = None
        self.fw = None  # boards' fwimage.ImageWriter while a firmware image streams (manifest's fw/ line)
        self.done = False
        self.error = None

    @classmethod
    def start(cls, io, board, rid, version, trial_s=600, url=None):
        stage.rmtree(DIR)
        os.mkdir(DIR)
        st = {"id": rid, "v": version, "f": "m", "dir": stage.staging_dir(), "n": 0, "trial_s": trial_s}
        if url:
            st["url"] = url  # HTTP (lib/ota/http.py) instead of chunks over MQTT
        s = cls(io, board, st)
        s._save()
        s.event("started")
        return s

    @classmethod
    def resume(cls, io, board):
        """The session a reboot interrupted, or None."""
        from store import atomic
        st = atomic.read_json(STATE)
        return None if st is None else cls(io, board, st)

    def _save(self):
        from store import atomic
        atomic.write_json(STATE, self.st)

    def event(self, state, **kw):
        f = {"state": state, "id": self.st.get("id"), "version": self.st.get("v")}
        for k in kw:
            f[k] = kw[k]
        return self.io.event(f)

    # ---- from the link's callback: only hold it ---------------------------------------------
    def take(self, topic, msg):
        if isinstance(topic, (bytes, bytearray)):
            topic = bytes(topic).decode()
        if topic != self.io.topics.ota_data:
            return False
        if msg is not None and self.msg is None:
            self.msg = msg
        return True

    # ---- between windows ---------------------------------------------------------------------
    def resend(self):
        self.sent_ms = None

    def service(self):
        """Work through the held answer and ask for the next chunk. False when the session ended."""
        if self.done:
            return False
        try:
            if self.msg is not None:
                m = self.msg
                self.msg = None
                self._answer(m)
            if not self.done:
                self._ask()
        except OtaError as e:
            self.fail(str(e))
        return not self.done

    def fail(self, why):
        self.error = why
        self.done = True
        stage.rmtree(self.st.get("dir") or "app_x")
        stage.rmtree(DIR)
        self.event("failed", error=why)

    def _where(self):
        """(file to write, offset) for the current step."""
        f = self.st["f"]
        if f == "m":
            return MAN, stage.length(MAN)
        if f == "s":
            return SIG, stage.length(SIG)
        if self.path is None:
            d, size, path = mf.entry(mf.read_line(MAN, f))
            self.size = size
            self.digest = d
            if path == mf.FW_PATH:  # the firmware image: into the next OTA slot (boards/), from its start
                import hashlib
                self.path = path
                try:
                    self.fw = self.io.firmware(size)
                except OSError as e:
                    raise OtaError("firmware image: %s" % stage.atomic.describe(e))
                self.off = 0
                self.h = hashlib.sha256()
                return self.path, self.off
            self.path = self.st["dir"] + "/" + path
            stage.makedirs(self.path)
            self.off = stage.length(self.path)
            self.h = stage.hash_file(self.path, self.off)  # resumed: hash what is there (small blocks)
        return self.path, self.off

    def _ask(self):
        io = self.io
        if not io.link.up and not self.st.get("url"):
            return
        c = io.clock
        if self.sent_ms is not None and c.ticks_diff(c.ticks_ms(), self.sent_ms) < RETRY_MS:
            return
        _, off = self._where()
        if self.st.get("url"):
            return self._http(off)
        req = json.dumps({"v": self.st["v"], "f": self.st["f"], "o": off, "n": CHUNK})
        if io.link.publish(io.topics.ota_get, req, qos=1):
            self.sent_ms = c.ticks_ms()

    def _http(self, off):
        """One ranged GET (lib/ota/http.py), answered at once; network trouble: again later."""
        from ota import http
        st = self.st
        f = st["f"]
        name = "manifest.txt" if f == "m" else "manifest.sig" if f == "s" else mf.entry(mf.read_line(MAN, f))[2]
        try:
            total, data = http.get(st["url"], name, off, CHUNK)
        except OSError as e:
            self.sent_ms = self.io.clock.ticks_ms()  # retried after RETRY_MS
            self.error_net = str(e)
            return
        head = {"v": st["v"], "f": f, "o": off, "t": total if total is not None else off}
        self._answer(json.dumps(head).encode() + b"\n" + data)

    def _answer(self, m):
        i = m.find(b"\n")
        if i < 0 or i > 200:
            return
        try:
            head = json.loads(m[:i])
        except ValueError:
            return
        st = self.st
        if head.get("v") != st["v"] or head.get("f") != st["f"]:
            return  # a stale or duplicated answer (QoS 1 may deliver twice)
        if head.get("error"):
            raise OtaError("server: %s" % head["error"])
        path, off = self._where()
        if head.get("o") != off:
            return
        data = memoryview(m)[i + 1:]
        total = head.get("t")
        if not isinstance(total, int) or total < 0 or len(data) > CHUNK:
            raise OtaError("server: malformed chunk")
        f = st["f"]
        if f in ("m", "s"):
            if total > _MAX_META or off + len(data) > total:
                raise OtaError("manifest: too large")
            if data:
                stage.append(path, data)
            self.sent_ms = None
            if off + len(data) >= total:
                self._meta_done(f)
            return
        if total != self.size or off + len(data) > self.size:
            raise OtaError("size mismatch: %s" % path)
        if data:
            if self.fw is not None:
                self.fw.write(data)
            else:
                stage.append(path, data)
            self.h.update(data)
            self.off += len(data)
        self.sent_ms = None
        if self.off == self.size:
            if self.h.digest() != self.digest:
                try:
                    os.remove(path)
                except OSError:
                    pass
                raise OtaError("hash mismatch: %s" % (path if self.fw else path[len(st["dir"]) + 1:]))
            self._next_file()

    def _meta_done(self, f):
        st = self.st
        if f == "m":
            st["f"] = "s"
            self._save()
            return
        # manifest and signature are here: signature first, then what it says
        with open(SIG, "rb") as fh:
            sig = fh.read(64)
        try:
            with open(PUB, "rb") as fh:
                pub = fh.read(32)
        except OSError:
            raise OtaError("no update key on this node (ota.pub): updates refused")
        mf.verify(pub, sig, stage.hash_file(MAN).digest())
        h = mf.header(mf.read_line(MAN, 0), self.board)
        if h["version"] != st["v"]:
            raise OtaError("manifest: version %s, asked for %s" % (h["version"], st["v"]))
        stage.rmtree(st["dir"])  # what an earlier update left there
        stage.check_space(h.get("size", 0))
        st["n"] = h["n"]
        st["f"] = 1
        self._save()
        self.event("verified", total=h["n"])

    def _next_file(self):
        st = self.st
        self.path = self.h = self.off = None
        if st["f"] >= st["n"]:
            if self.fw is not None:  # (the image is the manifest's last line) verified: boot it next
                self.fw.finish()
            stage.switch(st["dir"], st["v"], trial_s=st.get("trial_s", 600))  # every file verified: the pointer switches
            from store import atomic
            atomic.remove(STATE)
            self.done = True
            self.event("installed", done=st["n"], total=st["n"])
            return
        st["f"] += 1
        self._save()
        if st["f"] % 16 == 0:
            self.event("progress", done=st["f"] - 1, total=st["n"])
