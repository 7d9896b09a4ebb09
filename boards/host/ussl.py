# Host board only: lets the PyPI umqtt.simple 1.3.4 in .venv/mpylib take the call devices make.
#
# Devices run micropython-lib's current umqtt.simple (installed by mip): MQTTClient(..., ssl=ctx)
# with an SSLContext, then ctx.wrap_socket(sock, server_hostname=server). The PyPI 1.3.4 client
# instead does `import ussl; ussl.wrap_socket(sock, **self.ssl_params)` and the unix port has no
# `ussl`. This module is that `ussl`, and patch() makes 1.3.4 hand it the context and server name,
# so the node's own code (lib/link/mqtt.py, lib/link/tls.py) is exactly what a device runs.
# board.py (host) calls patch() at import.
import tls as ssl  # the built-in (the frozen `ssl` wrapper is off MICROPYPATH)

CERT_NONE = ssl.CERT_NONE
CERT_OPTIONAL = ssl.CERT_OPTIONAL
CERT_REQUIRED = ssl.CERT_REQUIRED
SSLContext = ssl.SSLContext
PROTOCOL_TLS_CLIENT = ssl.PROTOCOL_TLS_CLIENT

_patched = False


def wrap_socket(sock, context=None, server_hostname=None, **kw):
    if context is None:
        raise ValueError("host ussl shim: MQTTClient(ssl=...) must be an SSLContext (as on devices)")
    return context.wrap_socket(sock, server_hostname=server_hostname)


def patch():
    """Make umqtt.simple 1.3.4 behave like the mip version for ssl=<SSLContext>."""
    global _patched
    if _patched:
        return
    try:
        from umqtt import simple
    except ImportError:
        return
    cls = simple.MQTTClient
    orig = cls.connect

    def connect(self, clean_session=True, timeout=None):
        ctx = self.ssl
        if ctx and hasattr(ctx, "wrap_socket"):
            self.ssl_params = {"context": ctx, "server_hostname": self.server}
        return orig(self, clean_session)

    cls.connect = connect
    _patched = True
