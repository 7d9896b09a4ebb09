"""A node's filesystem as provisioning renders it (config.json, secrets.json, identity.json,
certificates, the portal passphrase for its label), validated by the device's own config code
(firmware/vibenode/config.py). tools/provision.py writes it to a device or a folder;
tools/fleet.py batch renders many."""
import csv
import getpass
import json
import os
import secrets as _rand
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))
from vibenode import config as nodeconfig  # noqa: E402  (the device's validator, run on the host)

PSK_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o/1/l/i: read off a label
WRITE_ORDER = ("ca.pem", "client.pem", "identity.json", "secrets.json", "config.json")  # config last: it is what boots


class ProvisionError(Exception):
    pass


def read_json(path, what):
    try:
        with open(path) as f:
            obj = json.load(f)
    except FileNotFoundError:
        raise ProvisionError("%s %s: not found" % (what, path))
    except ValueError as e:
        raise ProvisionError("%s %s: not valid JSON (%s)" % (what, path, e))
    if not isinstance(obj, dict):
        raise ProvisionError("%s %s: must hold a JSON object" % (what, path))
    return obj


def build_config(node_id, site):
    """The node's config.json content: the site file plus the node id."""
    if not nodeconfig.ident(node_id):
        raise ProvisionError("node id %r: 1-32 letters, digits, '-' or '_' (starting with a letter or digit)"
                             % (node_id,))
    if "node_id" in site:
        raise ProvisionError("site file: must not set node_id (it is per node: --node-id)")
    raw = json.loads(json.dumps(site))
    raw["node_id"] = node_id
    return raw


def portal_passphrase():
    return "".join(_rand.choice(PSK_ALPHABET) for _ in range(16))


def prompt_secrets(raw):
    """Ask for each Wi-Fi passphrase (not echoed) when no secrets file is given."""
    if not sys.stdin.isatty():
        raise ProvisionError("no secrets file given and no terminal to ask on (use --secrets FILE)")
    sec = {"wifi": {}}
    for n in (raw.get("wifi") or {}).get("networks", []):
        if isinstance(n, dict) and not n.get("open") and isinstance(n.get("ssid"), str):
            sec["wifi"][n["ssid"]] = getpass.getpass("Wi-Fi passphrase for %r: " % n["ssid"])
    user = input("MQTT user (empty: none, the client certificate identifies the node): ").strip()
    if user:
        sec["mqtt"] = {"user": user, "password": getpass.getpass("MQTT password: ")}
    return sec


def render_files(node_id, site, secrets, fleet=None, ca=None, cert=None, key=None, reissue=False,
                 portal_psk=None):
    """Validate and return ({name: bytes}, portal passphrase). Issues a certificate when fleet is
    given (after validation succeeded, so a schema error issues nothing)."""
    raw = build_config(node_id, site)
    sec = json.loads(json.dumps(secrets or {}))
    if "client_key" in sec or "portal_psk" in sec:
        raise ProvisionError("secrets file: client_key and portal_psk are generated per node, remove them")
    psk = portal_psk or portal_passphrase()
    sec["portal_psk"] = psk
    tls_on = None
    files = {}
    placeholder = "-----BEGIN PRIVATE KEY-----\n" + "A" * 100 + "\n-----END PRIVATE KEY-----\n"
    # first pass: validate with placeholders, before touching the fleet
    probe = dict(sec)
    t = raw.get("tls") or {}
    host = (raw.get("mqtt") or {}).get("host")
    tls_on = t.get("enabled", not nodeconfig.is_loopback(host)) if isinstance(t, dict) else True
    if tls_on and (t.get("cert", "client.pem") if isinstance(t, dict) else True):
        probe["client_key"] = placeholder
    names = set()
    if tls_on and isinstance(t, dict):
        names.add(t.get("ca", "ca.pem"))
        if t.get("cert", "client.pem"):
            names.add(t.get("cert", "client.pem"))
    try:
        nodeconfig.check(raw, probe, exists=lambda n: n in names, warnings=[])
    except nodeconfig.ConfigError as e:
        raise ProvisionError("schema: %s" % e)
    if tls_on:
        ca_name = t.get("ca", "ca.pem")
        cert_name = t.get("cert", "client.pem")
        if fleet is not None:
            if fleet.find(node_id) and not reissue:
                e = fleet.find(node_id)
                raise ProvisionError("node id %s is already in the fleet inventory (serial %s, expires %s); "
                                     "pick another id or pass --reissue to revoke and replace its certificate"
                                     % (node_id, e["serial"], e["not_after"][:10]))
            site_name = raw.get("site", nodeconfig.DEFAULTS["site"])
            fleet.issue(node_id, site_name, reissue=reissue)
            ca_b, cert_b, key_b = fleet.node_files(node_id)
        else:
            if not ca:
                raise ProvisionError("TLS is on (broker %s): give --fleet DIR or --ca FILE (and --cert/--key)" % host)
            ca_b = open(ca, "rb").read()
            cert_b = open(cert, "rb").read() if cert else None
            key_b = open(key, "rb").read() if key else None
            if cert_name and not (cert_b and key_b):
                raise ProvisionError("tls.cert is set: give --cert and --key (or --fleet DIR)")
        files[ca_name] = ca_b
        if cert_name:
            files[cert_name] = cert_b
            sec["client_key"] = key_b.decode()
    try:
        nodeconfig.check(raw, sec, exists=lambda n: n in files, warnings=[])
    except nodeconfig.ConfigError as e:
        raise ProvisionError("schema: %s" % e)
    pub = fleet.update_public() if fleet is not None else None
    if pub is not None:
        files["ota.pub"] = pub  # the fleet's update key (public half): signed app updates (lib/ota)
    files["config.json"] = (json.dumps(raw, indent=1, sort_keys=True) + "\n").encode()
    files["secrets.json"] = (json.dumps(sec, indent=1, sort_keys=True) + "\n").encode()
    return files, psk


def render_identity(node_id, site_name="default", fleet=None, reissue=False, portal_psk=None):
    """A node for the field: identity, portal passphrase and (with a fleet) its CA, certificate and
    key, but no config: it boots into the captive portal, where Wi-Fi and broker are entered."""
    if not nodeconfig.ident(node_id):
        raise ProvisionError("node id %r: 1-32 letters, digits, '-' or '_' (starting with a letter or digit)"
                             % (node_id,))
    if not nodeconfig.ident(site_name):
        raise ProvisionError("site name %r: 1-32 letters, digits, '-' or '_'" % (site_name,))
    psk = portal_psk or portal_passphrase()
    sec = {"portal_psk": psk}
    files = {"identity.json": (json.dumps({"node_id": node_id, "site": site_name}) + "\n").encode()}
    if fleet is not None:
        if fleet.find(node_id) and not reissue:
            raise ProvisionError("node id %s is already in the fleet inventory" % node_id)
        fleet.issue(node_id, site_name, reissue=reissue)
        files["ca.pem"], files["client.pem"], key = fleet.node_files(node_id)
        sec["client_key"] = key.decode()
    files["secrets.json"] = (json.dumps(sec, indent=1, sort_keys=True) + "\n").encode()
    return files, psk


def write_label(label, node_id, psk):
    """Append (node id, AP name, portal passphrase) to a 0600 CSV for label printing."""
    new = not os.path.exists(label)
    fd = os.open(label, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["node_id", "access_point", "portal_passphrase"])
        w.writerow([node_id, "vibenode-" + node_id, psk])


def write_dir(files, out):
    os.makedirs(out, exist_ok=True)
    for name in WRITE_ORDER + tuple(sorted(set(files) - set(WRITE_ORDER))):
        if name not in files:
            continue
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        private = name == "secrets.json"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(files[name])
        os.replace(tmp, path)
    return out


def render(node_id, site, secrets, out, fleet=None, label=None, **kw):
    files, psk = render_files(node_id, site, secrets, fleet=fleet, **kw)
    write_dir(files, out)
    if label:
        write_label(label, node_id, psk)
    return files, psk
