# What a form posted to the provisioning portal (vibenode/portal.py) makes of the node's config:
# the fields over the current (or last good) config and secrets, the node's identity kept. The
# portal loads this for a post and drops it before config.save validates and stores the pair.
from vibenode import config
from vibenode.portal import IDENTITY, load_json


def build(form, nid):
    """(raw config, secrets) from a form over the current (or last good) files; ConfigError for a
    form that cannot make one. config.save validates the pair before it stores it (one check: the
    validator's tables are loaded for each)."""
    raw = load_json(config.PATH) or load_json(config.GOOD) or {}
    sec = load_json(config.SECRETS) or load_json(config.SECRETS_GOOD) or {}
    try:
        config.check(raw, sec, config.exists, [])
    except config.ConfigError:
        raw = {k: raw[k] for k in raw if k in ("site", "tls", "sampling", "board") + config.OPEN_SECTIONS}
    raw = dict(raw)
    ident = load_json(IDENTITY) or {}
    if "site" not in raw and config.ident(ident.get("site")):
        raw["site"] = ident["site"]  # set at provisioning: the certificate's ACL is for this site
    fixed = raw.get("node_id") or (nid if config.exists(IDENTITY) else None)
    if form.get("node_id") and fixed and form["node_id"] != fixed:
        raise config.ConfigError("node_id: fixed at provisioning (%s): its certificate is issued to it" % fixed)
    raw["node_id"] = fixed or form.get("node_id") or nid
    if form.get("name"):
        raw["name"] = form["name"]
    nets = []
    wsec = {}
    for i in ("1", "2"):
        ssid = form.get("ssid" + i, "")
        if ssid:
            psk = form.get("psk" + i, "")
            net = {"ssid": ssid}
            if psk:
                wsec[ssid] = psk
            else:
                net["open"] = True
            nets.append(net)
        elif form.get("psk" + i):
            raise config.ConfigError("wifi.networks: passphrase %s given without a network name" % i)
    if not nets:
        raise config.ConfigError("wifi.networks: at least one network is required")
    raw["wifi"] = dict(raw.get("wifi") or {})
    raw["wifi"]["networks"] = nets
    m = dict(raw.get("mqtt") or {})
    if form.get("host"):
        m["host"] = form["host"]
    if form.get("port"):
        p = form["port"]
        if not p.isdigit() or len(p) > 5:
            raise config.ConfigError("mqtt.port: an integer from 1 to 65535")
        m["port"] = int(p)
    m.pop("user", None)
    m.pop("password", None)
    raw["mqtt"] = m
    t = dict(raw.get("tls") or {})
    if form.get("plaintext") == "on":
        t["enabled"] = False
    elif form.get("plaintext"):
        raise config.ConfigError("plaintext: on or absent")
    elif "enabled" not in t and config.exists(t.get("ca", "ca.pem")):
        t["enabled"] = True  # a node given a CA at provisioning talks TLS, whatever the host looks like
        if t.get("cert", "client.pem") and not config.exists(t.get("cert", "client.pem")):
            t["cert"] = None
    raw["tls"] = t
    sec = dict(sec)
    sec["wifi"] = wsec
    return raw, sec
