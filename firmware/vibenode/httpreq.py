# One HTTP request, strict and bounded, for the provisioning portal (vibenode/portal.py): read it
# from a socket, parse its head and an urlencoded form, answer it. One request per connection,
# request line + headers at most MAX_HEAD bytes, body at most MAX_BODY bytes (Content-Length
# required), form fields from the caller's fixed list; anything malformed or oversize raises
# BadRequest with the status to answer (400; 405 for a method the portal does not serve).
import time

MAX_HEAD = 1024
MAX_BODY = 2048


class BadRequest(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    raise BadRequest(400, "bad percent-escape")


def unquote(b):
    out = bytearray()
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c == 43:  # '+'
            out.append(32)
        elif c == 37:  # '%'
            if i + 2 >= n:
                raise BadRequest(400, "truncated percent-escape")
            out.append(_hexval(b[i + 1]) * 16 + _hexval(b[i + 2]))
            i += 2
        elif c < 32 or c > 126:
            raise BadRequest(400, "raw byte in form data")
        else:
            out.append(c)
        i += 1
    try:
        s = bytes(out).decode("utf-8")
    except UnicodeError:
        raise BadRequest(400, "form data is not UTF-8")
    for ch in s:
        if ord(ch) < 32 or ord(ch) == 127:
            raise BadRequest(400, "control character in form data")
    return s


def parse_form(body, fields):
    """An application/x-www-form-urlencoded body -> {field: text}; fields: the names it may have."""
    form = {}
    if not body:
        return form
    for part in body.split(b"&"):
        if not part:
            raise BadRequest(400, "empty form field")
        k, sep, v = part.partition(b"=")
        if not sep:
            raise BadRequest(400, "form field without '='")
        k = unquote(k)
        if k not in fields:
            raise BadRequest(400, "unknown form field")
        if k in form:
            raise BadRequest(400, "form field given twice")
        form[k] = unquote(v)
    return form


def parse_head(head):
    """head: bytes up to (not including) the blank line. Returns (method, path, headers)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[2] not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise BadRequest(400, "bad request line")
    method, path = parts[0], parts[1]
    if method not in (b"GET", b"POST", b"HEAD"):
        raise BadRequest(405, "method not allowed")
    if not path.startswith(b"/") or len(path) > 64:
        raise BadRequest(400, "bad path")
    hdrs = {}
    for ln in lines[1:]:
        k, sep, v = ln.partition(b":")
        if not sep or not k or b" " in k or b"\t" in k:
            raise BadRequest(400, "bad header line")
        for c in ln:
            if c < 32 and c != 9 or c > 126:
                raise BadRequest(400, "bad byte in header")
        k = k.decode().lower()
        if k in hdrs:
            raise BadRequest(400, "header given twice")
        if len(hdrs) >= 24:
            raise BadRequest(400, "too many headers")
        hdrs[k] = v.strip().decode()
    return method.decode(), path.decode(), hdrs


def read_request(conn, limit_ms):
    """Read one request from a socket (its own per-call timeout set), all of it within limit_ms
    however slowly a client trickles bytes in. Returns (method, path, headers, body)."""
    t0 = time.ticks_ms()

    def recv(n):
        if time.ticks_diff(time.ticks_ms(), t0) > limit_ms:
            raise BadRequest(400, "request too slow")
        return conn.recv(n)

    buf = b""
    while True:
        i = buf.find(b"\r\n\r\n")
        if i >= 0:
            break
        if len(buf) > MAX_HEAD:
            raise BadRequest(400, "request head too large")
        chunk = recv(256)
        if not chunk:
            raise BadRequest(400, "connection closed mid-request")
        buf += chunk
    if i > MAX_HEAD:
        raise BadRequest(400, "request head too large")
    method, path, hdrs = parse_head(buf[:i])
    body = buf[i + 4:]
    n = 0
    if "transfer-encoding" in hdrs:
        raise BadRequest(400, "transfer-encoding not supported")
    if method == "POST":
        cl = hdrs.get("content-length")
        if cl is None or not cl.isdigit() or len(cl) > 6:
            raise BadRequest(400, "Content-Length required")
        n = int(cl)
        if n > MAX_BODY:
            raise BadRequest(400, "form too large")
    elif "content-length" in hdrs and hdrs["content-length"] != "0":
        raise BadRequest(400, "unexpected body")
    if len(body) > n:
        raise BadRequest(400, "more data than Content-Length")
    while len(body) < n:
        chunk = recv(min(512, n - len(body)))
        if not chunk:
            raise BadRequest(400, "body shorter than Content-Length")
        body += chunk
    return method, path, hdrs, body


def respond(conn, code, body, ctype="text/html", extra=""):
    """Answer and never raise (the client may be gone)."""
    reason = {200: "OK", 302: "Found", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
              405: "Method Not Allowed", 413: "Payload Too Large", 422: "Unprocessable Entity",
              500: "Internal Server Error"}.get(code, "Error")
    b = body.encode() if isinstance(body, str) else body
    head = "HTTP/1.1 %d %s\r\nContent-Type: %s; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n" \
           "Cache-Control: no-store\r\n%s\r\n" % (code, reason, ctype, len(b), extra)
    try:
        conn.send(head.encode())
        conn.send(b)
    except OSError:
        pass
