# The host board's `network` module: a WLAN stand-in that "connects" instantly to any SSID
# listed in `network.available` (board.py fills it from config; tests can take networks away
# to exercise the link manager's Wi-Fi fallback and backoff).
STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_WRONG_PASSWORD = 202
STAT_NO_AP_FOUND = 201
STAT_CONNECT_FAIL = 203
STAT_GOT_IP = 1010
AUTH_OPEN = 0
AUTH_WPA2_PSK = 3

available = {}  # ssid -> passphrase that the emulated AP accepts (None: any)
_ifaces = {}


class WLAN:
    def __new__(cls, interface_id=STA_IF):
        w = _ifaces.get(interface_id)
        if w is None:
            w = object.__new__(cls)
            w._init(interface_id)
            _ifaces[interface_id] = w
        return w

    def __init__(self, interface_id=STA_IF):
        pass

    def _init(self, iface):
        self.iface = iface
        self._active = False
        self._status = STAT_IDLE
        self._ssid = None
        self._cfg = {"essid": "vibenode-host", "password": "", "authmode": AUTH_OPEN,
                     "mac": b"\x24\x6f\x28\x00\x00\x01", "hostname": "vibenode"}
        self.connects = 0

    def active(self, v=None):
        if v is None:
            return self._active
        self._active = bool(v)
        if not v:
            self._status = STAT_IDLE
            self._ssid = None

    def connect(self, ssid=None, key=None, *, bssid=None):
        if not self._active:
            raise OSError("WLAN not active")
        self.connects += 1
        if ssid not in available:
            self._status = STAT_NO_AP_FOUND
            return
        want = available[ssid]
        if want is not None and want != key:
            self._status = STAT_WRONG_PASSWORD
            return
        self._ssid = ssid
        self._status = STAT_GOT_IP

    def disconnect(self):
        self._status = STAT_IDLE
        self._ssid = None

    def isconnected(self):
        if self._status == STAT_GOT_IP and self._ssid not in available:
            self._status = STAT_IDLE  # the AP went away
        return self._status == STAT_GOT_IP

    def status(self, param=None):
        if param == "rssi":
            return -55
        self.isconnected()
        return self._status

    def ifconfig(self, cfg=None):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def ipconfig(self, *a, **kw):
        return "127.0.0.1"

    def config(self, *args, **kw):
        if kw:
            self._cfg.update(kw)
            return None
        if args:
            return self._cfg.get(args[0])
        return None

    def scan(self):
        return [(s.encode(), b"\0" * 6, 6, -55, 3, False) for s in available]


def hostname(name=None):
    if name is None:
        return "vibenode"
