# The portal's triggers, without the portal's code: a request file left at boot (an operator or
# the watch below asked for the portal), and the watch that asks for it when a node cannot get
# online. The portal itself (vibenode/portal.py, ~12 KB of code) is loaded only when it runs.
from vibenode.log import log

REQUEST_FILE = "portal.req"  # present at boot: open the portal even with a good config


def requested():
    from vibenode import config
    return config.exists(REQUEST_FILE)


def passphrase():
    """The per-device portal passphrase from secrets.json (or the last good copy); None if none."""
    from vibenode import config
    for name in (config.SECRETS, config.SECRETS_GOOD):
        try:
            with open(name) as f:
                import json
                p = json.load(f).get("portal_psk")
            if isinstance(p, str) and 8 <= len(p) <= 63:
                return p
        except Exception:
            pass
    return None


class OfflineWatch:
    """Offers the portal to a node that cannot get online (wrong Wi-Fi passphrase or broker typed
    in the field): after cfg portal.offline_s without the link up it requests the portal and
    resets; that boot serves the portal for portal.timeout_s, then measures again. The node's loop
    calls check(link.up) between windows. offline_s = 0 turns it off."""

    def __init__(self, cfg, clock):
        self.clock = clock
        self.limit_ms = int((cfg.get("portal") or {}).get("offline_s", 900)) * 1000
        self.since = clock.ticks_ms()
        self.armed = passphrase() is not None and self.limit_ms > 0

    def check(self, up):
        now = self.clock.ticks_ms()
        if up or not self.armed:
            self.since = now
            return False
        if self.clock.ticks_diff(now, self.since) < self.limit_ms:
            return False
        log("portal", "offline for %d s: opening the provisioning portal" % (self.limit_ms // 1000))
        with open(REQUEST_FILE, "w") as f:
            f.write("offline")
        import machine
        machine.reset()
        return True
