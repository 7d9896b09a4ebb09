# MQTT link over umqtt.simple: connect with a retained last will, birth message, publish,
# bounded socket timeouts, and reconnect with exponential backoff plus jitter. Never raises
# to the caller on network trouble: it reports state (`up`) and the last error instead.
import json
import random

try:
    import socket as _socket
except ImportError:  # pragma: no cover
    import usocket as _socket

from umqtt import simple as _umqtt


class _SockFactory:
    """Stands in for the `socket` module inside umqtt.simple: every socket it makes has a
    timeout, and getaddrinfo answers from the address we resolved once for this attempt."""

    def __init__(self, timeout_s):
        self.timeout_s = timeout_s
        self.addr = None

    def socket(self, *a):
        s = _socket.socket(*a)
        s.settimeout(self.timeout_s)
        return s

    def getaddrinfo(self, host, port, *a):
        if self.addr is not None:
            return [(2, 1, 0, "", self.addr)]
        return _socket.getaddrinfo(host, port, *a)


class MqttLink:
    def __init__(self, client_id, host, port, clock, keepalive=30, user=None, password=None, ssl=None,
                 will_topic=None, will_msg=None, timeout_s=5, backoff_min_ms=500, backoff_max_ms=60000,
                 log=None):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.clock = clock
        self.keepalive = keepalive
        self.user = user
        self.password = password
        self.ssl = ssl
        self.will_topic = will_topic
        self.will_msg = will_msg
        self.timeout_s = timeout_s
        self.backoff_min_ms = backoff_min_ms
        self.backoff_max_ms = backoff_max_ms
        self.log = log or (lambda *a: None)
        self.client = None
        self.up = False
        self.last_error = None
        self.connects = 0
        self.failures = 0
        self._backoff = backoff_min_ms
        self._next_try = clock.ticks_ms()
        self._last_tx = clock.ticks_ms()
        self.on_up = None  # callback(link) after each successful connect (birth, subscribe)
        self.on_msg = None  # callback(topic, msg) for subscribed topics
        self._fac = _SockFactory(timeout_s)

    # ---- connection ----------------------------------------------------------------------
    def due(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self._next_try) >= 0

    def connect(self):
        """One connect attempt if the backoff allows. Returns True when up."""
        if self.up:
            return True
        if not self.due():
            return False
        self._close()
        try:
            fac = self._fac
            fac.addr = None
            fac.addr = _socket.getaddrinfo(self.host, self.port)[0][-1]  # DNS once per attempt
            _umqtt.socket = fac
            c = _umqtt.MQTTClient(self.client_id, self.host, self.port, user=self.user, password=self.password,
                                  keepalive=self.keepalive, ssl=self.ssl)
            if self.will_topic:
                c.set_last_will(self.will_topic, self.will_msg, retain=True, qos=1)
            c.set_callback(self._on_msg)
            self.client = c
            c.connect()
            c.sock.settimeout(self.timeout_s)
            self.up = True
            self.connects += 1
            self._backoff = self.backoff_min_ms
            self._last_tx = self.clock.ticks_ms()
            self.last_error = None
            if self.on_up:
                self.on_up(self)
            return self.up
        except Exception as e:  # any client failure (OSError, assertion, index error)
            self._fail("connect", e)
            return False

    def _fail(self, what, e):
        self.failures += 1
        self.last_error = "%s: %s %s" % (what, type(e).__name__, e)
        self.log("link", self.last_error)
        self.up = False
        self._close()
        jitter = random.getrandbits(16) * self._backoff // 65536 // 2
        self._next_try = self.clock.ticks_add(self.clock.ticks_ms(), self._backoff + jitter)
        self._backoff = min(self._backoff * 2, self.backoff_max_ms)

    def _close(self):
        c = self.client
        self.client = None
        if c is not None and c.sock is not None:
            try:
                c.sock.close()
            except Exception:
                pass

    def disconnect(self):
        if self.up and self.client:
            try:
                self.client.disconnect()
            except Exception:
                pass
        self.up = False
        self._close()

    # ---- traffic -------------------------------------------------------------------------
    def publish(self, topic, payload, retain=False, qos=0):
        """True if handed to the broker (QoS 1: acknowledged)."""
        if not self.up:
            return False
        try:
            self.client.publish(topic, payload, retain, qos)
            self.client.sock.settimeout(self.timeout_s)
            self._last_tx = self.clock.ticks_ms()
            return True
        except Exception as e:
            self._fail("publish", e)
            return False

    def subscribe(self, topic, qos=0):
        try:
            self.client.subscribe(topic, qos)
            self.client.sock.settimeout(self.timeout_s)
            return True
        except Exception as e:
            self._fail("subscribe", e)
            return False

    def service(self):
        """Poll for incoming messages and keep the session alive; call between windows."""
        if not self.up:
            self.connect()
            return
        try:
            c = self.client
            c.check_msg()  # non-blocking; leaves the socket blocking...
            c.sock.settimeout(self.timeout_s)  # ...so restore the bound
            if self.keepalive and self.clock.ticks_diff(self.clock.ticks_ms(), self._last_tx) > self.keepalive * 500:
                c.ping()
                self._last_tx = self.clock.ticks_ms()
        except Exception as e:
            self._fail("service", e)

    def _on_msg(self, topic, msg):
        if self.on_msg:
            self.on_msg(topic, msg)


def dumps(obj):
    return json.dumps(obj)
