# The supervisor's rarely run code (vibenode/supervisor.py calls it through Supervisor._cold:
# loaded for the call and dropped after): the boot count and safe-mode decision, crash saving,
# the boot's stability mark, the watchdog's start.
import sys

from micropython import const

from store import atomic

BOOT = "boot.json"
CRASH = "crash.txt"
_MAX_TRACE = const(2048)


def boot(s, safe_after):
    """Supervisor.__init__: this boot counted, a crash loop detected (safe mode), the last
    crash's traceback read for publication."""
    st = atomic.read_json(BOOT, {}) or {}
    s.boots = int(st.get("boots", 0)) + 1
    quick = int(st.get("quick", 0))
    stable = bool(st.get("stable", True))
    try:
        s.reset_cause = s.board.reset_cause()
    except Exception:
        s.reset_cause = "unknown"
    crashed = st.get("crash_boot") == s.boots - 1
    if stable or s.reset_cause == "deepsleep":
        quick = 0  # the previous boot ran long enough, or ended in deep sleep: no crash loop
    elif crashed or s.reset_cause == "watchdog":
        quick += 1  # (a power cut or deliberate reboot during a short boot keeps the count)
    s.quick = quick
    s.safe_mode = quick >= safe_after
    s.crash_trace = None
    if crashed:
        try:
            with open(CRASH) as f:
                s.crash_trace = f.read(_MAX_TRACE)
        except OSError:
            pass
    _save(s, False)
    s._stable = False
    s.t0 = s.clock.ticks_ms()


def _save(s, stable, crash_boot=None):
    st = {"boots": s.boots, "quick": s.quick, "stable": stable}
    if crash_boot is not None:
        st["crash_boot"] = crash_boot
    try:
        atomic.write_json(BOOT, st)
    except OSError as e:
        s.log("supervisor", "cannot write %s: %s" % (BOOT, e))


def crashed(s, exc):
    import io
    buf = io.StringIO()
    sys.print_exception(exc, buf)
    text = buf.getvalue()
    buf = None
    if len(text) > _MAX_TRACE:
        text = text[:200] + "\n...\n" + text[-(_MAX_TRACE - 210):]
    atomic.write(CRASH, text.encode())
    _save(s, s._stable, s.boots)


def crash_published(s):
    s.crash_trace = None
    atomic.remove(CRASH)


def clear_safe_mode(s):
    s.quick = 0
    _save(s, True)


def stable(s):
    s._stable = True
    if not s.safe_mode:
        s.quick = 0
    _save(s, True)


def start_wdt(s, timeout_ms, limits):
    s.limits = dict(limits)
    now = s.clock.ticks_ms()
    for k in s.limits:
        s.seen[k] = now
    try:
        s.wdt = s.board.wdt(timeout_ms)
    except Exception as e:
        s.log("supervisor", "no watchdog: %s" % (e,))
