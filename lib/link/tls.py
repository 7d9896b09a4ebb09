# TLS for the broker link: an SSLContext built from the node's config, for umqtt.simple's
# `MQTTClient(..., ssl=ctx)` (micropython-lib umqtt.simple >= 1.4, as installed by mip), which
# calls ctx.wrap_socket(sock, server_hostname=<mqtt.host>).
#
#   verify_mode = CERT_REQUIRED    the broker must present a chain to our CA (tls.ca) and the
#                                  name in mqtt.host (checked by mbedTLS via server_hostname)
#   load_cert_chain(cert, key)     mutual TLS: the node's certificate (tls.cert) and key
#                                  (secrets.json client_key), when tls.cert is set
#
# MicroPython's SSLContext defaults to CERT_NONE even for PROTOCOL_TLS_CLIENT: never rely on it.
# mbedTLS checks certificate validity dates against the RTC: set the clock (NTP) before
# connecting, or an unset clock (year 2000) makes every certificate "not yet valid".
try:
    import tls as ssl  # MicroPython >= 1.23: the built-in module under the frozen `ssl` wrapper
    _CADATA_KW = False
except ImportError:  # pragma: no cover
    import ssl
    _CADATA_KW = True


class TLSConfigError(ValueError):
    pass


def der(data):
    """PEM (first block) -> DER; DER passes through. Some MicroPython builds' mbedTLS parse DER
    only (no PEM support compiled in), and DER needs no base64 decode at connect time."""
    if isinstance(data, str):
        data = data.encode()
    if not data.startswith(b"-----BEGIN"):
        return data
    from binascii import a2b_base64
    lines = data.split(b"\n")
    body = []
    for ln in lines[1:]:
        ln = ln.strip()
        if ln.startswith(b"-----END"):
            return a2b_base64(b"".join(body))
        body.append(ln)
    raise ValueError("PEM block without END line")


def _read(name, what):
    try:
        with open(name, "rb") as f:
            return der(f.read())
    except (OSError, ValueError) as e:
        raise TLSConfigError("tls.%s: cannot read %s (%s)" % (what, name, e))


class _Sock:
    """The TLS socket plus settimeout(), which MicroPython's SSLSocket lacks: the link bounds every
    read and write with a timeout on the TCP socket underneath (umqtt toggles blocking mode)."""

    def __init__(self, tls_sock, raw):
        self._raw = raw
        self._s = tls_sock
        self.read = tls_sock.read
        self.readinto = tls_sock.readinto
        self.write = tls_sock.write
        self.close = tls_sock.close
        self.setblocking = tls_sock.setblocking

    def settimeout(self, t):
        self._raw.settimeout(t)


class Context:
    """What MQTTClient(ssl=...) gets: wrap_socket() does the full handshake (certificate chain,
    validity, host name) before returning, so no MQTT byte is ever written on a failed one."""

    def __init__(self, ctx):
        self.ctx = ctx

    def wrap_socket(self, sock, server_hostname=None, **kw):
        if not server_hostname:
            raise ValueError("TLS: server_hostname required (the name checked against the broker's certificate)")
        return _Sock(self.ctx.wrap_socket(sock, server_hostname=server_hostname), sock)


def context(cfg):
    """Context for cfg["tls"] (an SSLContext inside), or None when TLS is disabled. Raises TLSConfigError (which
    names the field) when a file is missing or unusable; the message never holds key material."""
    t = cfg.get("tls") or {}
    if not t.get("enabled"):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    try:
        ca = _read(t["ca"], "ca")
        if _CADATA_KW:
            try:
                ctx.load_verify_locations(cadata=ca)
            except TypeError:  # MicroPython 1.22's C `ssl`: positional only
                ctx.load_verify_locations(ca)
        else:
            ctx.load_verify_locations(ca)
    except (ValueError, OSError) as e:
        raise TLSConfigError("tls.ca: %s is not a usable CA certificate (%s)" % (t["ca"], e))
    if t.get("cert"):
        key = t.get("key")
        if not key:
            raise TLSConfigError("secrets.client_key: required for tls.cert")
        try:
            ctx.load_cert_chain(_read(t["cert"], "cert"), der(key))
        except (ValueError, OSError) as e:
            raise TLSConfigError("tls.cert/secrets.client_key: unusable certificate or key (%s)"
                                 % (type(e).__name__,))
    return Context(ctx)
