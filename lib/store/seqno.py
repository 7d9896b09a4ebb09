# The node's reading sequence number, persisted across reboots without a flash write per reading.
#
# The file holds the first number NOT yet handed out by a reservation ("next"). Numbers are taken
# from RAM; when the reservation runs out, the next `block` numbers are reserved with one atomic
# write. A clean restart (reboot command, machine.reset by the node) writes the exact next number
# first, so numbering continues without a gap; after a crash or power cut the node resumes at the
# reserved limit, skipping at most block-1 numbers that were never given to any reading. The
# first number of each boot is reported in the birth message (`seq0`), so a consumer can tell
# such a gap from lost data. Flash cost: one small atomic file write per `block` readings.
# A reservation the filesystem refuses (full, read-only) never stops the numbering: numbers go on
# from RAM, `error` says why, and every take() retries the write until it lands. (A crash before
# it lands resumes at the last reservation written: numbers after it may then be handed out again.)
from store import atomic


class SeqCounter:
    def __init__(self, path, block=100):
        self.path = path
        self.block = block
        st = atomic.read_json(path, {}) or {}
        n = st.get("next", 1)
        if not isinstance(n, int) or n < 1:
            n = 1
        self.next = n  # the number the next reading gets
        self.limit = n  # reserved up to (excluding) this one
        self.first = n  # first number of this boot
        self.writes = 0
        self.error = None  # the reservation write's failure in words, None once one landed

    def take(self):
        v = self.next
        if v >= self.limit:
            self.limit = v + self.block
            self._save(self.limit)
        elif self.error is not None:
            self._save(self.limit)
        self.next = v + 1
        return v

    def last(self):
        return self.next - 1

    def resume(self, n):
        """Continue exactly at n (the number kept in RTC memory through a deep sleep) when it lies
        within the reservation on flash; True when taken."""
        if isinstance(n, int) and 1 <= n <= self.limit:
            self.next = self.first = n
            return True
        return False

    def save_exact(self):
        """Before a deliberate restart: the next boot continues exactly at `next`."""
        self.limit = self.next
        self._save(self.next)

    def _save(self, n):
        try:
            atomic.write_json(self.path, {"next": n})
        except OSError as e:
            self.error = "seq: " + atomic.describe(e)
            return False
        self.writes += 1
        self.error = None
        return True
