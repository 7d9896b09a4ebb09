# Wi-Fi station manager: a list of networks tried in turn, a stability check before the link
# counts as up, and exponential backoff after a full round of failures. Non-blocking: service()
# advances the state machine and returns at once (the node calls it between windows).
#
#   w = Wifi(board.wlan(), [{"ssid": "plant", "psk": "..."}, ...], clock, log)
#   w.service(); w.up
#
# States: idle -> connecting (one network, up to connect_ms) -> settling (connected, must stay
# connected for stable_ms) -> up. A network that refuses (wrong password, no AP, timeout) moves
# on to the next one; after the last one the manager waits backoff_ms (doubling to a cap).
_IDLE = 0
_CONNECTING = 1
_SETTLING = 2
_UP = 3

_FAIL_STATUS = (201, 202, 203, 204, -1, -2, -3)  # ESP32 / CYW43 codes for no AP, bad key, fail


class Wifi:
    def __init__(self, wlan, networks, clock, log=None, stable_ms=3000, connect_ms=15000,
                 backoff_min_ms=2000, backoff_max_ms=120000):
        self.wlan = wlan
        self.networks = [n for n in networks if isinstance(n, dict) and n.get("ssid")]
        self.clock = clock
        self.log = log or (lambda *a: None)
        self.stable_ms = stable_ms
        self.connect_ms = connect_ms
        self.backoff_min_ms = backoff_min_ms
        self.backoff_max_ms = backoff_max_ms
        self._backoff = backoff_min_ms
        self.state = _IDLE
        self.idx = 0
        self.ssid = None
        self.up = False
        self.connects = 0
        self.losses = 0
        self._t = clock.ticks_ms()
        self._next = self._t

    def _since(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._t)

    def service(self):
        w = self.wlan
        try:
            connected = w.isconnected()
        except Exception:
            connected = False
        st = self.state
        if st == _UP:
            if connected:
                return
            self.up = False
            self.losses += 1
            self.log("wifi", "lost %s" % self.ssid)
            self.state = _IDLE
            self._next = self.clock.ticks_ms()
            return
        if st == _SETTLING:
            if not connected:
                self.log("wifi", "%s dropped while settling" % self.ssid)
                return self._failed()
            if self._since() >= self.stable_ms:
                self.state = _UP
                self.up = True
                self.connects += 1
                self._backoff = self.backoff_min_ms
                self.log("wifi", "up on %s" % self.ssid)
            return
        if st == _CONNECTING:
            if connected:
                self.state = _SETTLING
                self._t = self.clock.ticks_ms()
                return
            try:
                s = w.status()
            except Exception:
                s = None
            if s in _FAIL_STATUS or self._since() >= self.connect_ms:
                self.log("wifi", "%s failed (status %r)" % (self.ssid, s))
                return self._failed()
            return
        # idle: start the next attempt when due
        if not self.networks:
            return
        if self.clock.ticks_diff(self.clock.ticks_ms(), self._next) < 0:
            return
        net = self.networks[self.idx % len(self.networks)]
        self.ssid = net["ssid"]
        try:
            w.active(True)
            try:
                w.disconnect()
            except Exception:
                pass
            w.connect(net["ssid"], net.get("psk") or net.get("password") or "")
        except Exception as e:
            self.log("wifi", "connect %s: %s" % (self.ssid, e))
            return self._failed()
        self.state = _CONNECTING
        self._t = self.clock.ticks_ms()

    def _failed(self):
        self.state = _IDLE
        self.up = False
        self.idx += 1
        now = self.clock.ticks_ms()
        if self.idx % len(self.networks) == 0:  # a full round failed: back off
            self._next = self.clock.ticks_add(now, self._backoff)
            self._backoff = min(self._backoff * 2, self.backoff_max_ms)
        else:
            self._next = now
