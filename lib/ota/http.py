# Update delivery over HTTP (lib/ota/session.py with a "url"): one ranged GET per chunk, so
# memory stays one chunk and a reboot or outage resumes at the file's length on flash.
#
#   get(base_url, name, off, n) -> (total, bytes)     raises OSError on network trouble
# HTTP/1.0 plain; the server must answer Range requests (206 with Content-Range), as
# tools/otaserve.py --http and ordinary web servers (nginx, Apache) do. HTTPS is not in this build.
from micropython import const

_TIMEOUT = const(5)


def _split(url):
    if not url.startswith("http://"):
        raise ValueError("url: http:// only")
    rest = url[7:]
    hp, _, path = rest.partition("/")
    host, _, port = hp.partition(":")
    return host, int(port or 80), "/" + path


def get(base, name, off, n):
    import socket
    host, port, path = _split(base)
    if not path.endswith("/"):
        path += "/"
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    try:
        s.settimeout(_TIMEOUT)
        s.connect(ai[-1])
        s.write(b"GET %s%s HTTP/1.0\r\nHost: %s\r\nRange: bytes=%d-%d\r\n\r\n" % (path, name, host, off, off + n - 1))
        f = s.makefile("rb") if hasattr(s, "makefile") else s
        status = f.readline()
        code = int(status.split(None, 2)[1])
        total = None
        while True:
            line = f.readline()
            if not line or line == b"\r\n":
                break
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-range":  # bytes a-b/total
                total = int(v.strip().rsplit(b"/", 1)[1])
        if code == 416:  # nothing left at this offset (an empty file, or resumed at its end)
            return total, b""
        if code != 206 or total is None:
            raise OSError("HTTP %d for %s" % (code, name))
        data = f.read(n)
        return total, data
    finally:
        s.close()
