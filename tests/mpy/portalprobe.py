# Heap probe for the provisioning portal (tools/portalmem.py). Runs on the unix port with the node's
# filesystem as working directory (identity + portal passphrase, no config: the portal's own case).
# One session in-process, as appboot._portal has it: config loaded (the boot did), the portal imported,
# a phone's GET of the form, a form the schema rejects (422), a good form (saved), then every module
# the portal loaded dropped (appboot._portal drops portal.MODULES; tests/test_portal.py checks that this
# is all it loads but what a node keeps anyway). A connection is a stand-in socket fed the bytes.
# Prints `RESULT <json>`: gc.mem_alloc() after a collection at each step.
import gc
import json

gc.collect()
out = {"start": gc.mem_alloc()}
from vibenode import config  # noqa: E402  (appboot loaded it)
gc.collect()
out["config"] = gc.mem_alloc() - out["start"]
base = gc.mem_alloc()
import sys  # noqa: E402
from vibenode import drop  # noqa: E402
before = set(sys.modules)
from vibenode import portal  # noqa: E402
gc.collect()
out["code"] = gc.mem_alloc() - base


class Conn:
    def __init__(self, req):
        self.req = req
        self.sent = b""

    def settimeout(self, t):
        pass

    def recv(self, n):
        d = self.req[:n]
        self.req = self.req[n:]
        return d

    def send(self, b):
        self.sent += b
        return len(b)

    def close(self):
        pass


def post(form):
    return b"POST /save HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Type: application/x-www-form-urlencoded\r\n" \
           b"Content-Length: %d\r\n\r\n%s" % (len(form), form)


p = portal.Portal("pump-07", port=8080)
c = Conn(b"GET / HTTP/1.1\r\nHost: 192.168.4.1\r\n\r\n")
p.handle(c)
codes = [int(c.sent[9:12])]
tok = p.token.encode()
c = Conn(post(b"token=" + tok + b"&name=Pump+7&ssid1=plant&psk1=short&host=127.0.0.1&port=1883"))
p.handle(c)
codes.append(int(c.sent[9:12]))
c = Conn(post(b"token=" + tok + b"&name=Pump+7&ssid1=plant&psk1=Plant-WiFi-Secret-31&host=127.0.0.1&port=1883"))
p.handle(c)
codes.append(int(c.sent[9:12]))
c = None
gc.collect()
out["session"] = gc.mem_alloc() - base
out["codes"] = codes
out["saved"] = p.saved
p = portal = None
out["loaded"] = sorted(m for m in sys.modules if m not in before)  # what appboot._portal must drop
for m in out["loaded"]:
    drop(m)
gc.collect()
out["after"] = gc.mem_alloc() - base
print("RESULT " + json.dumps(out))
