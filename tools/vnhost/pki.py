"""The fleet's PKI and broker policy (tools/fleet.py is its command line; tools/provision.py issues
node certificates with it): the CA, broker and client certificates, the CRL, the inventory, the
Mosquitto ACL and config. The fleet directory's layout is in tools/fleet.py's help."""
import csv
import datetime
import io
import ipaddress
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UTC = datetime.timezone.utc


class FleetError(Exception):
    pass


def _now():
    return datetime.datetime.now(UTC).replace(microsecond=0)


def _write(path, data, private=False):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def _key_pem(key, passphrase=None):
    enc = serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def ca_passphrase(confirm=False):
    """The CA key's passphrase: $VIBENODE_CA_PASS, else asked on the terminal; None if neither."""
    p = os.environ.get("VIBENODE_CA_PASS")
    if p:
        return p
    if not sys.stdin.isatty():
        return None
    import getpass
    p = getpass.getpass("fleet CA key passphrase: ")
    if confirm and getpass.getpass("again: ") != p:
        raise FleetError("the passphrases differ")
    return p or None


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


class Fleet:
    def __init__(self, path):
        self.dir = os.path.abspath(path)
        self._ca_pass = None

    def p(self, *parts):
        return os.path.join(self.dir, *parts)

    # ---- state -----------------------------------------------------------------------------
    def exists(self):
        return os.path.exists(self.p("ca.pem"))

    def _need(self):
        if not self.exists():
            raise FleetError("no fleet CA in %s (create one: tools/fleet.py --dir %s init)" % (self.dir, self.dir))

    def settings(self):
        try:
            with open(self.p("fleet.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return {"prefix": "vibenode"}

    def inventory(self):
        try:
            with open(self.p("inventory.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return []

    def _save_inventory(self, inv):
        _write(self.p("inventory.json"), json.dumps(inv, indent=1) + "\n")
        buf = io.StringIO()
        w = csv.writer(buf)
        cols = ["id", "role", "site", "serial", "not_before", "not_after", "status", "revoked_at"]
        w.writerow(cols)
        for e in inv:
            w.writerow([e.get(c, "") for c in cols])
        _write(self.p("inventory.csv"), buf.getvalue())

    def find(self, node_id, active_only=True):
        for e in self.inventory():
            if e["id"] == node_id and (e["status"] == "active" or not active_only):
                return e
        return None

    def ca(self):
        self._need()
        with open(self.p("ca.pem"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(self.p("ca.key"), "rb") as f:
            data = f.read()
        if b"ENCRYPTED" not in data:
            return cert, serialization.load_pem_private_key(data, None)
        if self._ca_pass is None:
            self._ca_pass = ca_passphrase()
        if not self._ca_pass:
            raise FleetError("the fleet CA key is encrypted: set VIBENODE_CA_PASS or run on a terminal")
        try:
            key = serialization.load_pem_private_key(data, self._ca_pass.encode())
        except ValueError:
            self._ca_pass = None
            raise FleetError("wrong passphrase for the fleet CA key")
        return cert, key

    # ---- CA --------------------------------------------------------------------------------
    def init(self, name="vibenode fleet CA", days=3650, prefix="vibenode", passphrase=None):
        """passphrase: encrypt the CA key at rest (recommended; needed again for every issue/revoke)."""
        if self.exists():
            raise FleetError("%s already holds a fleet CA (refusing to overwrite it)" % self.dir)
        key = ec.generate_private_key(ec.SECP256R1())
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = _now()
        cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o700)
        _write(self.p("ca.key"), _key_pem(key, passphrase), private=True)
        self._ca_pass = passphrase
        _write(self.p("ca.pem"), _cert_pem(cert))
        _write(self.p("fleet.json"), json.dumps({"prefix": prefix, "name": name}) + "\n")
        self.update_key()
        self._save_inventory([])
        self.write_crl()
        return cert

    # ---- application updates: the Ed25519 key releases are signed with (tools/release.py) -----
    def update_key(self):
        """Create update.key (Ed25519, PKCS8 PEM, 0600) and update.pub (its 32 raw bytes, what
        nodes hold as ota.pub) unless they exist. Returns the private key."""
        from cryptography.hazmat.primitives.asymmetric import ed25519
        if os.path.exists(self.p("update.key")):
            with open(self.p("update.key"), "rb") as f:
                return serialization.load_pem_private_key(f.read(), None)
        key = ed25519.Ed25519PrivateKey.generate()
        os.makedirs(self.dir, exist_ok=True)
        _write(self.p("update.key"), _key_pem(key), private=True)
        _write(self.p("update.pub"), key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                   serialization.PublicFormat.Raw))
        return key

    def update_public(self):
        """The update key's 32 public bytes (ota.pub on nodes), or None before `update-key`."""
        try:
            with open(self.p("update.pub"), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _leaf(self, cn, sans, eku, days=None, not_before=None, not_after=None, issuer=None):
        ca_cert, ca_key = issuer or self.ca()
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        nb = not_before or now - datetime.timedelta(minutes=5)
        na = not_after or now + datetime.timedelta(days=days or 825)
        if na > ca_cert.not_valid_after_utc:
            na = ca_cert.not_valid_after_utc
        b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                          content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=True, encipher_only=False,
                                          decipher_only=False), critical=True)
             .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        return cert, key

    def issue_server(self, host, ips=(), days=825, not_before=None, not_after=None, name=None):
        """Broker certificate: SAN DNS:host (+ IP SANs). Returns (cert path, key path)."""
        sans = [x509.DNSName(host)] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
        cert, key = self._leaf(host, sans, ExtendedKeyUsageOID.SERVER_AUTH, days, not_before, not_after)
        base = self.p("server", name or host)
        _write(base + ".key", _key_pem(key), private=True)
        _write(base + ".pem", _cert_pem(cert))
        return base + ".pem", base + ".key"

    def issue(self, node_id, site, role="node", days=825, reissue=False, not_before=None, not_after=None):
        """Client certificate for a node (or an operator console), CN = id. Returns inventory entry."""
        sys.path.insert(0, os.path.join(ROOT, "firmware"))
        from vibenode.config import ident
        if not ident(node_id):
            raise FleetError("id %r: 1-32 letters, digits, '-' or '_'" % (node_id,))
        if role == "node" and not ident(site):
            raise FleetError("site %r: 1-32 letters, digits, '-' or '_'" % (site,))
        if role not in ("node", "operator"):
            raise FleetError("role: node or operator")
        old = self.find(node_id)
        if old is not None:
            if not reissue:
                raise FleetError("node id %s is already in the fleet inventory (serial %s, expires %s); "
                                 "use --reissue to revoke it and issue a new certificate"
                                 % (node_id, old["serial"], old["not_after"]))
            self.revoke(node_id, reason="superseded")
        cert, key = self._leaf(node_id, [], ExtendedKeyUsageOID.CLIENT_AUTH, days, not_before, not_after)
        d = self.p("nodes", node_id)
        _write(os.path.join(d, "client.key"), _key_pem(key), private=True)
        _write(os.path.join(d, "client.pem"), _cert_pem(cert))
        e = {"id": node_id, "role": role, "site": site if role == "node" else "", "serial": "%x" % cert.serial_number,
             "not_before": cert.not_valid_before_utc.isoformat(), "not_after": cert.not_valid_after_utc.isoformat(),
             "status": "active", "revoked_at": ""}
        inv = self.inventory()
        inv.append(e)
        self._save_inventory(inv)
        return e

    def node_files(self, node_id):
        e = self.find(node_id)
        if e is None:
            raise FleetError("node id %s has no active certificate in %s" % (node_id, self.dir))
        d = self.p("nodes", node_id)
        with open(self.p("ca.pem"), "rb") as f:
            ca = f.read()
        with open(os.path.join(d, "client.pem"), "rb") as f:
            cert = f.read()
        with open(os.path.join(d, "client.key"), "rb") as f:
            key = f.read()
        return ca, cert, key

    def revoke(self, node_id, reason="unspecified"):
        self.ca()  # the CA key must be usable before anything changes (encrypted: passphrase)
        inv = self.inventory()
        hit = [e for e in inv if e["id"] == node_id and e["status"] == "active"]
        if not hit:
            raise FleetError("node id %s has no active certificate to revoke" % node_id)
        for e in hit:
            e["status"] = "revoked"
            e["revoked_at"] = _now().isoformat()
            e["reason"] = reason
        self._save_inventory(inv)
        key = self.p("nodes", node_id, "client.key")
        if os.path.exists(key):
            os.remove(key)  # the fleet keeps no usable key for a revoked certificate
        self.write_crl()
        return hit

    def write_crl(self, days=365):
        ca_cert, ca_key = self.ca()
        now = _now()
        b = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject).last_update(now)
             .next_update(now + datetime.timedelta(days=days)))
        for e in self.inventory():
            if e["status"] == "revoked":
                b = b.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(int(e["serial"], 16))
                    .revocation_date(datetime.datetime.fromisoformat(e["revoked_at"])).build())
        crl = b.sign(ca_key, hashes.SHA256())
        _write(self.p("crl.pem"), crl.public_bytes(serialization.Encoding.PEM))
        return crl

    # ---- broker policy ---------------------------------------------------------------------
    def acl(self):
        prefix = self.settings().get("prefix", "vibenode")
        out = ["# generated by tools/fleet.py from %s: do not edit, re-run `fleet.py mosquitto`" % self.dir,
               "# username = certificate CN (use_identity_as_username); no anonymous access.",
               "# nodes write only their own topics and read only their own cmd; operators read all, write cmd."]
        for e in self.inventory():
            if e["status"] != "active":
                continue
            out.append("")
            out.append("user %s" % e["id"])
            if e["role"] == "node":
                base = "%s/%s/%s" % (prefix, e["site"], e["id"])
                out += ["topic write %s/#" % base, "topic read %s/cmd" % base, "topic read %s/cmd/#" % base]
            else:
                out += ["topic read %s/#" % prefix, "topic write %s/+/+/cmd" % prefix,
                        "topic write %s/+/+/cmd/#" % prefix]
        return "\n".join(out) + "\n"

    def mosquitto(self, out, port=8883, bind="0.0.0.0", server=None, run_as=None, persist_dir=None):
        """Write the broker's files into DIR: mosquitto.conf, acl, ca.pem, crl.pem, server.pem,
        server.key (0600: chown it to the broker's user). The broker never sees the CA key.
        The client id is the certificate's CN (use_username_as_clientid): a client cannot take
        over another's session by claiming its id. Retained messages and sessions persist in
        persist_dir (default DIR; the broker's user must be able to write it). Returns the conf path."""
        self._need()
        names = sorted(f[:-4] for f in os.listdir(self.p("server")) if f.endswith(".pem")) \
            if os.path.isdir(self.p("server")) else []
        if server is None:
            if len(names) != 1:
                raise FleetError("name the broker certificate with --server (have: %s)" % (", ".join(names) or "none;"
                                 " create one with `fleet.py server HOST`"))
            server = names[0]
        if server not in names:
            raise FleetError("no broker certificate %s (have: %s)" % (server, ", ".join(names) or "none"))
        out = os.path.abspath(out)
        os.makedirs(out, exist_ok=True)
        for src, dst, private in ((self.p("ca.pem"), "ca.pem", False), (self.p("crl.pem"), "crl.pem", False),
                                  (self.p("server", server + ".pem"), "server.pem", False),
                                  (self.p("server", server + ".key"), "server.key", True)):
            with open(src, "rb") as f:
                _write(os.path.join(out, dst), f.read(), private=private)
        _write(os.path.join(out, "acl"), self.acl())
        j = lambda n: os.path.join(out, n)  # noqa: E731
        conf = ["# generated by tools/fleet.py: mutual TLS only, identities from client certificates",
                "# after `fleet.py revoke` or `issue`, re-run `fleet.py mosquitto` and restart the broker"]
        if run_as:
            conf.append("user %s" % run_as)
        conf += ["per_listener_settings false",
                 "allow_anonymous false",
                 "acl_file %s" % j("acl"),
                 "listener %d %s" % (port, bind),
                 "protocol mqtt",
                 "cafile %s" % j("ca.pem"),
                 "certfile %s" % j("server.pem"),
                 "keyfile %s" % j("server.key"),
                 "crlfile %s" % j("crl.pem"),
                 "require_certificate true",
                 "use_identity_as_username true",
                 "# the client id is the certificate's CN whatever the client sends: no session takeover",
                 "use_username_as_clientid true",
                 "tls_version tlsv1.2",
                 "# retained status/birth messages and QoS 1 sessions survive a broker restart",
                 "persistence true",
                 "persistence_location %s/" % os.path.abspath(persist_dir or out),
                 "persistence_file mosquitto.db",
                 ""]
        path = j("mosquitto.conf")
        _write(path, "\n".join(conf))
        return path
