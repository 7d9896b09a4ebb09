# Supervision: watchdog fed only on progress, boot counter with safe mode after repeated quick
# crashes, and the last crash's traceback kept for publication after the next boot.
#
# Files (atomic writes, store/atomic.py): boot.json {"boots", "quick", "crash_boot"} and
# crash.txt (the traceback, at most 2048 bytes). Flash cost: one boot.json write per boot,
# one more when the boot becomes stable, and one crash.txt per crash.
#
# Quick crash: the previous boot ended by an unhandled exception (crash.txt written by that
# boot) or by the watchdog, before running stable_s (60) seconds. After safe_after (3) quick
# crashes in a row the node boots in safe mode: network, commands and status only, no sensors or
# sampling (reported on status, with the crash count). A `reboot` command from safe mode clears the count.
#
# Watchdog: progress(name) marks a subsystem as alive (the node: "sampler" after every
# scheduled measurement, "link" after every link service that returned); feed() feeds
# machine.WDT only when every subsystem checked in within its allowed age, so a hung socket
# call, a stuck bus or a livelock stops the feeding and the watchdog resets the chip.
#
# Only the watchdog's feeding stays in the heap; the boot counting, crash saving, safe mode and
# the watchdog's start are vibenode/supcold.py, loaded for the call and dropped after.
from vibenode import drop


class Supervisor:
    def __init__(self, board, clock, safe_after=3, stable_s=60, log=None):
        self.board = board
        self.clock = clock
        self.log = log or (lambda *a: None)
        self.stable_ms = stable_s * 1000
        self.wdt = None
        self.limits = {}
        self.seen = {}
        self.feeds = 0
        self.refused = 0
        self._cold("boot", safe_after)

    def _cold(self, fn, *a):
        from vibenode import supcold
        try:
            return getattr(supcold, fn)(self, *a)
        finally:
            supcold = None
            drop("vibenode.supcold")

    def info(self):
        """What the birth message says about this boot."""
        d = {"boots": self.boots, "reset_cause": self.reset_cause, "quick_crashes": self.quick,
             "safe_mode": self.safe_mode}
        if self.crash_trace:
            d["crashed"] = True
        return d

    def crashed(self, exc):
        """Save the traceback of an unhandled exception (then the caller resets the chip)."""
        try:
            self._cold("crashed", exc)
        except Exception as e:  # (MemoryError: no heap for the code)
            print("supervisor: could not save crash:", e)

    def crash_published(self):
        self._cold("crash_published")

    def clear_safe_mode(self):
        self._cold("clear_safe_mode")

    def start_wdt(self, timeout_ms, limits):
        """limits: {subsystem: longest allowed silence in ms}."""
        self._cold("start_wdt", timeout_ms, limits)

    def tick(self):
        """Mark the boot stable once it has run stable_s seconds (one write)."""
        if not self._stable and self.clock.ticks_diff(self.clock.ticks_ms(), self.t0) >= self.stable_ms:
            self._cold("stable")

    # ---- watchdog ------------------------------------------------------------------------
    def progress(self, name):
        self.seen[name] = self.clock.ticks_ms()

    def stalled(self):
        """The subsystems that did not check in within their limits."""
        now = self.clock.ticks_ms()
        out = []
        for k in self.limits:
            if self.clock.ticks_diff(now, self.seen.get(k, now)) > self.limits[k]:
                out.append(k)
        return out

    def feed(self):
        if self.stalled():
            self.refused += 1
            return False
        if self.wdt is not None:
            self.wdt.feed()
        self.feeds += 1
        return True
