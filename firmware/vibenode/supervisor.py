# Supervision: watchdog fed only on progress, boot counter with safe mode after repeated quick
# crashes, and the last crash's traceback kept for publication after the next boot.
#
# Files (atomic writes, store/atomic.py): boot.json {"boots", "quick", "crash_boot"} and
# crash.txt (the traceback, at most MAX_TRACE bytes). Flash cost: one boot.json write per boot,
# one more when the boot becomes stable, and one crash.txt per crash.
#
# Quick crash: the previous boot ended by an unhandled exception (crash.txt written by that
# boot) or by the watchdog, before running STABLE_S seconds. After SAFE_AFTER quick crashes in a
# row the node boots in safe mode: network, commands and status only, no sensors or sampling
# (reported on status, with the crash count). A `reboot` command from safe mode clears the count.
#
# Watchdog: progress(name) marks a subsystem as alive (the node: "sampler" after every
# scheduled measurement, "link" after every link service that returned); feed() feeds
# machine.WDT only when every subsystem checked in within its allowed age, so a hung socket
# call, a stuck bus or a livelock stops the feeding and the watchdog resets the chip.
import sys

from store import atomic

BOOT = "boot.json"
CRASH = "crash.txt"
MAX_TRACE = 2048
SAFE_AFTER = 3
STABLE_S = 60


class Supervisor:
    def __init__(self, board, clock, safe_after=SAFE_AFTER, stable_s=STABLE_S, log=None):
        self.board = board
        self.clock = clock
        self.log = log or (lambda *a: None)
        self.stable_ms = stable_s * 1000
        st = atomic.read_json(BOOT, {}) or {}
        self.boots = int(st.get("boots", 0)) + 1
        quick = int(st.get("quick", 0))
        stable = bool(st.get("stable", True))
        try:
            self.reset_cause = board.reset_cause()
        except Exception:
            self.reset_cause = "unknown"
        crashed = st.get("crash_boot") == self.boots - 1
        if stable or self.reset_cause == "deepsleep":
            quick = 0  # the previous boot ran long enough, or ended in deep sleep: no crash loop
        elif crashed or self.reset_cause == "watchdog":
            quick += 1  # (a power cut or deliberate reboot during a short boot keeps the count)
        self.quick = quick
        self.safe_mode = quick >= safe_after
        self.crash_trace = None
        if crashed:
            try:
                with open(CRASH) as f:
                    self.crash_trace = f.read(MAX_TRACE)
            except OSError:
                pass
        self._save(stable=False)
        self._stable = False
        self.t0 = clock.ticks_ms()
        self.wdt = None
        self.limits = {}
        self.seen = {}
        self.feeds = 0
        self.refused = 0

    def _save(self, stable, crash_boot=None):
        st = {"boots": self.boots, "quick": self.quick, "stable": stable}
        if crash_boot is not None:
            st["crash_boot"] = crash_boot
        try:
            atomic.write_json(BOOT, st)
        except OSError as e:
            self.log("supervisor", "cannot write %s: %s" % (BOOT, e))

    def info(self):
        """What the birth message says about this boot."""
        d = {"boots": self.boots, "reset_cause": self.reset_cause, "quick_crashes": self.quick,
             "safe_mode": self.safe_mode}
        if self.crash_trace:
            d["crashed"] = True
        return d

    # ---- crash handling ------------------------------------------------------------------
    def crashed(self, exc):
        """Save the traceback of an unhandled exception (then the caller resets the chip)."""
        try:
            import io
            buf = io.StringIO()
            sys.print_exception(exc, buf)
            text = buf.getvalue()
            if len(text) > MAX_TRACE:
                text = text[:200] + "\n...\n" + text[-(MAX_TRACE - 210):]
            atomic.write(CRASH, text.encode())
            self._save(stable=self._stable, crash_boot=self.boots)
        except Exception as e:
            print("supervisor: could not save crash:", e)

    def crash_published(self):
        self.crash_trace = None
        atomic.remove(CRASH)

    def clear_safe_mode(self):
        self.quick = 0
        self._save(stable=True)

    def tick(self):
        """Mark the boot stable once it has run STABLE_S seconds (one write)."""
        if not self._stable and self.clock.ticks_diff(self.clock.ticks_ms(), self.t0) >= self.stable_ms:
            self._stable = True
            if not self.safe_mode:
                self.quick = 0
            self._save(stable=True)

    # ---- watchdog ------------------------------------------------------------------------
    def start_wdt(self, timeout_ms, limits):
        """limits: {subsystem: longest allowed silence in ms}."""
        self.limits = dict(limits)
        now = self.clock.ticks_ms()
        for k in self.limits:
            self.seen[k] = now
        try:
            self.wdt = self.board.wdt(timeout_ms)
        except Exception as e:
            self.log("supervisor", "no watchdog: %s" % (e,))

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
