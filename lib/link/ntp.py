# SNTP client: one request with a timeout, the answer written to the RTC (UTC). The node asks
# again every minute until the clock is set, then every six hours; readings taken before the
# first answer carry "unsync": true (docs/mqtt.md).
import struct
import time

try:
    import socket
except ImportError:  # pragma: no cover
    import usocket as socket

# seconds from the NTP epoch (1900) to the port's time epoch (1970, or 2000 on older ports)
_DELTA = 2208988800 if time.gmtime(0)[0] == 1970 else 3155673600


def query(host, port=123, timeout_s=1):
    """UTC seconds (in the port's epoch) from one SNTP exchange; raises OSError."""
    addr = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout_s)
        q = bytearray(48)
        q[0] = 0x1B  # LI 0, version 3, mode 3 (client)
        s.sendto(q, addr)
        msg = s.recv(48)
    finally:
        s.close()
    if len(msg) < 48 or msg[0] & 7 not in (4, 5):
        raise OSError("NTP: bad reply")
    secs = struct.unpack("!I", msg[40:44])[0]
    if not secs or msg[1] == 0:  # stratum 0: kiss-o'-death
        raise OSError("NTP: no time in reply")
    return secs - _DELTA


def set_rtc(t):
    import machine
    tm = time.gmtime(t)
    machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6] + 1, tm[3], tm[4], tm[5], 0))


class Ntp:
    def __init__(self, clock, host="pool.ntp.org", port=123, timeout_s=1, log=None):
        self.clock = clock
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.log = log or (lambda *a: None)
        self.synced = False
        self.syncs = 0
        self._next = clock.ticks_ms()

    def service(self):
        c = self.clock
        if c.ticks_diff(c.ticks_ms(), self._next) < 0:
            return
        try:
            set_rtc(query(self.host, self.port, self.timeout_s))
            self.synced = True
            self.syncs += 1
            self._next = c.ticks_add(c.ticks_ms(), 6 * 3600 * 1000)
            self.log("ntp", "clock set from %s: %d" % (self.host, c.time()))
        except Exception as e:
            self._next = c.ticks_add(c.ticks_ms(), 60000)
            self.log("ntp", "%s: %s" % (self.host, e))
