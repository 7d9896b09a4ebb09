# The node's MQTT link: connection policy over the protocol in link/mqttproto.py (the node's own
# MQTT 3.1.1 client, the same bytes on the host and on a device).
#
# Policy: Wi-Fi first (link/wifi.py, when given), the broker's name resolved once per attempt
# (link/dns.py, bounded, when a DNS server is known), then TCP, TLS and CONNECT/CONNACK, the
# whole attempt bounded by timeout_s (link/mqttcon.py, loaded per attempt and dropped after;
# SUBSCRIBE: link/mqttsub.py, the same); reconnect with exponential backoff plus jitter; keepalive
# pings. It never raises to the caller on network trouble: it reports its state (`up`,
# `last_error`, counters) instead, and any exception from the session (OSError, ProtocolError,
# MqttError, MemoryError, ...) closes it and schedules a reconnect.
#
# Half-open links: the link sends PINGREQ when it has sent nothing for keepalive/2 or heard
# nothing for keepalive/2, and declares the session dead when nothing answers a PINGREQ within
# keepalive/2 - at most ~keepalive after the last byte from the broker, inside the broker's own
# 1.5 x keepalive.
import errno
import random
from micropython import const

from link import drop
from link.mqttproto import HINT, MAX_IN  # noqa: F401 (limits for callers)

_DRAIN = const(2000)  # packets read per service() call at most (a flood is drained, not left queued)
# Takeover: another client with our client id makes the broker close our session right after
# CONNACK, again and again. _TAKEOVER_N sessions each shorter than _SHORT_MS within _WINDOW_MS set
# `takeover` (the error text); reconnects then wait at least _TAKEOVER_BACKOFF_MS (capped by
# backoff_max_ms), and a session that lasts _CLEAR_MS clears it.
_SHORT_MS = const(5000)
_TAKEOVER_N = const(3)
_WINDOW_MS = const(60000)
_TAKEOVER_BACKOFF_MS = const(30000)
_CLEAR_MS = const(20000)
TAKEOVER = "link: session taken over (client id in use elsewhere?)"


def _quiet(*a):
    pass


class MqttLink:
    def __init__(self, client_id, host, port, clock, **kw):
        """Keywords (defaults): keepalive 30, user, password, ssl (link/tls.py), will_topic,
        will_msg, timeout_s 5, backoff_min_ms 500, backoff_max_ms 60000, log, wifi (link/wifi.py),
        dns (see link/mqttcon.py dns_server()), clean True; the state: link/mqttcon.py init()."""
        from link import mqttcon  # (construction and connect attempts only: dropped after)
        try:
            mqttcon.init(self, client_id, host, port, clock, **kw)
        finally:
            mqttcon = None
            drop("mqttcon")
        if self.log is None:
            self.log = _quiet

    # ---- hooks the session calls ---------------------------------------------------------
    def tx(self):
        self.last_tx = self.clock.ticks_ms()

    def rx(self):
        self.last_rx = self.clock.ticks_ms()
        self.ping_at = None

    def pingresp(self):
        self.pingresps += 1

    def deliver(self, topic, msg, head, size, retain):
        if msg is None:
            self.oversize += 1
            self.log("link", "oversized PUBLISH %d bytes on %s: drained, head passed on" % (size, topic))
        if self.on_msg:
            self.on_msg(topic, msg, head, size, bool(retain))

    # ---- connection ----------------------------------------------------------------------
    def due(self):
        return self.clock.ticks_diff(self.clock.ticks_ms(), self.next_try) >= 0

    def net_up(self):
        w = self.wifi
        if w is None:
            return True
        w.service()
        return w.up

    def connect(self):
        """One connect attempt if the backoff allows, bounded by timeout_s. True when up."""
        if self.up:
            return True
        if not self.net_up() or not self.due():  # (the Wi-Fi state machine runs every call)
            return False
        self._close()
        self.attempts += 1
        try:
            from link import mqttcon
            mqttcon.attempt(self)
        except Exception as e:  # any failure (OSError, ProtocolError, MqttError, ValueError, MemoryError ...)
            self._fail("connect", e)
            return False
        finally:
            mqttcon = None
            drop("mqttcon")
        if self.on_up:
            self.on_up(self)
        return self.up

    def _fail(self, what, e, cut=True):
        self.failures += 1
        self.last_error = "%s: %s %s" % (what, type(e).__name__, e)
        self.log("link", self.last_error)
        self._ended(cut)
        self._close()
        if self.takeover:  # someone else holds our client id: don't flap at full speed
            self.backoff = max(self.backoff, min(_TAKEOVER_BACKOFF_MS, self.backoff_max_ms))
        jitter = random.getrandbits(16) * self.backoff // 65536 // 2
        self.next_try = self.clock.ticks_add(self.clock.ticks_ms(), self.backoff + jitter)
        self.backoff = min(self.backoff * 2, self.backoff_max_ms)

    def _close(self):
        c = self.client
        self.client = None
        if c is not None:
            c.close()

    def disconnect(self):
        """Clean DISCONNECT (the broker then does not publish the will)."""
        if self.up and self.client:
            self.client.disconnect()
        self._ended()
        self._close()

    def _ended(self, cut=True):
        """The session is over; cut: ended by the network or the broker (a short one may be another
        client with our id), not by this node (drop(): no evidence of a takeover)."""
        if self.up:
            now = self.down_since = self.clock.ticks_ms()
            self.last_session_ms = ms = self.clock.ticks_diff(now, self.up_at)
            if not cut:
                pass
            elif ms >= _SHORT_MS:
                self.short = 0
            else:
                if not self.short or self.clock.ticks_diff(now, self.short_at) > _WINDOW_MS:
                    self.short = 0
                    self.short_at = now
                self.short += 1
                if self.short >= _TAKEOVER_N and not self.takeover:
                    self.takeover = TAKEOVER
                    self.takeovers += 1
                    self.log("link", "%s: %d sessions cut within %d ms of CONNACK" % (TAKEOVER, self.short, ms))
        self.up = False

    def drop(self, why):
        """Abandon the session as if the network failed (tests, and a node that cannot use it: no
        heap for its birth message); the node's own doing, so never counted towards a takeover."""
        if self.up:
            self._fail(why, OSError("dropped"), False)

    # ---- traffic -------------------------------------------------------------------------
    def publish(self, topic, payload, retain=False, qos=0):
        """True if handed to the broker (QoS 1: acknowledged by PUBACK within timeout_s).
        payload: str, bytes, or a tuple (or any object iterable more than once, each pass
        yielding the same pieces) of byte strings / memoryviews sent back to back."""
        if not self.up:
            return False
        try:
            if isinstance(topic, str):
                topic = topic.encode()
            if isinstance(payload, str):
                payload = payload.encode()
            if isinstance(payload, (bytes, bytearray, memoryview)):
                payload = (payload,)
            self.client.publish(topic, payload, retain, qos)
            return True
        except Exception as e:
            self._fail("publish", e)
            return False

    def subscribe(self, topic, qos=0):
        if not self.up:
            return False
        try:
            from link.mqttsub import subscribe
            subscribe(self.client, topic.encode() if isinstance(topic, str) else topic, qos)
            return True
        except Exception as e:
            self._fail("subscribe", e)
            return False
        finally:
            subscribe = None
            drop("mqttsub")

    def service(self, max_packets=_DRAIN):
        """Read what the broker sent (without blocking; a big PUBLISH is drained a slice per
        call), keep the session alive, reconnect when due. Call often (the node does every
        <= 100 ms between windows)."""
        if not self.up:
            self.connect()
            return
        if not self.net_up():
            self._fail("service", OSError("Wi-Fi lost"))
            return
        try:
            c = self.client
            n = 0
            while n < max_packets and c.step(None):
                n += 1
                if c.skip:  # one drain slice per call
                    break
            clk = self.clock
            now = clk.ticks_ms()
            if self.takeover and clk.ticks_diff(now, self.up_at) >= _CLEAR_MS:
                self.takeover = None  # the session held: the other client is gone
                self.short = 0
            ka = self.keepalive * 1000
            if ka:
                if self.ping_at is not None:
                    if clk.ticks_diff(now, self.ping_at) > ka // 2:
                        raise OSError(errno.ETIMEDOUT, "no PINGRESP within keepalive/2 (half-open link)")
                elif clk.ticks_diff(now, self.last_tx) >= ka // 2 or clk.ticks_diff(now, self.last_rx) >= ka // 2:
                    c.ping()
                    self.tx()
                    self.pings += 1
                    self.ping_at = now
        except Exception as e:
            self._fail("service", e)

    def status(self):
        return {"up": self.up, "connects": self.connects, "attempts": self.attempts, "failures": self.failures,
                "last_error": self.last_error}
