#!/usr/bin/env python3
"""Serve signed releases (tools/release.py bundles) to nodes in chunks over MQTT:
`make ota-serve [DIST=dist] [MQTT_HOST=..] [MQTT_PORT=..]`.

A node that got an `ota` command asks on <prefix>/<site>/<node>/ota/get with
{"v": version, "f": "m" | "s" | i, "o": offset, "n": max bytes}; the answer goes to .../ota/data
(QoS 1): one JSON line {"v", "f", "o", "t": total} then the bytes. "m" is manifest.txt, "s"
manifest.sig, i the i-th file line of the manifest. Bundles are looked up as
<dist>/<board>-<version> for any board (the node checks board and arch against the signed
manifest itself). The server holds no secret: everything it sends is signed or hashed.
--http PORT also serves the bundles over HTTP with Range support (the `ota` command's "url").
"""
import argparse
import json
import os
import sys
import threading

import paho.mqtt.client as mqtt

CHUNK_MAX = 1024


class Server:
    def __init__(self, dist, host="127.0.0.1", port=1883, prefix="vibenode", tls=None):
        self.dist = dist
        self.prefix = prefix
        self.served = 0
        self.fail_next = {}  # tests: {(v, f, o): corrupt bytes} sent once instead of the real chunk
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="vibenode-otaserve-%d" % os.getpid())
        if tls:
            self.c.tls_set(**tls)
        self.c.on_connect = lambda c, u, f, rc, p=None: c.subscribe(prefix + "/+/+/ota/get", qos=1)
        self.c.on_message = self._on_msg
        self.ready = threading.Event()
        self.c.on_subscribe = lambda *a: self.ready.set()
        self.c.connect(host, port, 30)

    def _bundle(self, v):
        for d in sorted(os.listdir(self.dist)) if os.path.isdir(self.dist) else ():
            if d.endswith("-" + v) and os.path.exists(os.path.join(self.dist, d, "manifest.txt")):
                return os.path.join(self.dist, d)
        return None

    def chunk(self, req):
        v, f, o = req.get("v"), req.get("f"), req.get("o")
        n = min(int(req.get("n", CHUNK_MAX)), CHUNK_MAX)
        head = {"v": v, "f": f, "o": o}
        b = self._bundle(v) if isinstance(v, str) else None
        if b is None:
            head["error"] = "no release %s" % v
            return head, b""
        if f == "m":
            path = os.path.join(b, "manifest.txt")
        elif f == "s":
            path = os.path.join(b, "manifest.sig")
        else:
            lines = open(os.path.join(b, "manifest.txt")).read().splitlines()
            if not isinstance(f, int) or not 1 <= f < len(lines):
                head["error"] = "no file %r" % (f,)
                return head, b""
            path = os.path.join(b, lines[f].split(" ", 2)[2])
        data = open(path, "rb").read()
        head["t"] = len(data)
        return head, data[o:o + n]

    def _on_msg(self, c, u, m):
        try:
            req = json.loads(m.payload)
            head, data = self.chunk(req)
        except Exception as e:
            print("otaserve: bad request on %s: %s" % (m.topic, e), file=sys.stderr)
            return
        key = (head.get("v"), head.get("f"), head.get("o"))
        if key in self.fail_next:
            data = self.fail_next.pop(key)
        self.served += 1
        c.publish(m.topic[:-3] + "data", json.dumps(head).encode() + b"\n" + data, qos=1)

    def start(self):
        self.c.loop_start()
        return self

    def stop(self):
        self.c.loop_stop()
        self.c.disconnect()


def http_server(dist, port=0, host="127.0.0.1"):
    """The same bundles over HTTP with Range support (the node's lib/ota/http.py asks
    <url>/manifest.txt etc. one ranged GET per chunk). Returns the started ThreadingHTTPServer."""
    import http.server
    import re

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path = os.path.normpath(os.path.join(dist, self.path.lstrip("/")))
            if not path.startswith(os.path.abspath(dist)) or not os.path.isfile(path):
                return self.send_error(404)
            data = open(path, "rb").read()
            m = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
            if m is None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            a = int(m.group(1))
            b = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            if a >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.end_headers()
                return None
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))
            self.send_header("Content-Length", str(b - a + 1))
            self.end_headers()
            self.wfile.write(data[a:b + 1])

        def log_message(self, *a):
            pass

    dist = os.path.abspath(dist)
    srv = http.server.ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dist", default="dist")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--prefix", default="vibenode")
    ap.add_argument("--http", type=int, metavar="PORT", help="also serve the bundles over HTTP on PORT (ota url)")
    a = ap.parse_args()
    if a.http:
        http_server(a.dist, a.http, "0.0.0.0")
        print("otaserve: HTTP on port %d: ota url http://<this host>:%d/<board>-<version>/" % (a.http, a.http))
    s = Server(a.dist, a.host, a.port, a.prefix)
    print("otaserve: serving %s on %s:%d" % (a.dist, a.host, a.port))
    s.c.loop_forever()


if __name__ == "__main__":
    main()
