# TLS for the broker link: the SSLContext of MicroPython's built-in `tls` module (>= 1.23; the
# same module on the unix port and the ESP32), built from the node's config. link/mqttproto.py
# wraps the TCP socket with ctx.wrap_socket(sock, server_hostname=<mqtt.host>,
# do_handshake_on_connect=False) and runs the handshake inside its bounded writes.
#
#   verify_mode = CERT_REQUIRED    the broker must present a chain to our CA (tls.ca) and the
#                                  name in mqtt.host (checked by mbedTLS via server_hostname,
#                                  which CERT_REQUIRED makes mandatory)
#   load_cert_chain(cert, key)     mutual TLS: the node's certificate (tls.cert) and key
#                                  (secrets.json client_key), when tls.cert is set
#
# MicroPython's SSLContext defaults to CERT_NONE even for PROTOCOL_TLS_CLIENT: never rely on it.
# mbedTLS checks certificate validity dates against the RTC: set the clock (NTP) before
# connecting, or an unset clock (year 2000) makes every certificate "not yet valid".


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


def context(cfg):
    """An SSLContext for cfg["tls"], or None when TLS is disabled. Raises TLSConfigError (which
    names the field) when a file is missing or unusable; the message never holds key material."""
    t = cfg.get("tls") or {}
    if not t.get("enabled"):
        return None
    import tls
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_REQUIRED
    try:
        ctx.load_verify_locations(_read(t["ca"], "ca"))
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
    return ctx
