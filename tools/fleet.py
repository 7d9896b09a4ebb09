#!/usr/bin/env python3
"""Fleet PKI and broker policy for vibenode: `make fleet CMD="..."` runs this.

A fleet directory (default ./fleet, keep it off the network share and out of git) holds:
    ca.key, ca.pem            the fleet CA (EC P-256); ca.key is the crown jewel (mode 0600)
    crl.pem                   revocation list, signed by the CA (re-signed on every change)
    server/<name>.pem|.key    broker certificates
    nodes/<id>/client.pem|.key  per-node (and per-operator) client certificates, CN = node id
    inventory.json, .csv      every certificate: id, role, site, serial, not_after, status
    fleet.json                fleet settings (topic prefix)

Commands:
    init [--name N] [--days D] [--prefix P] [--encrypt]   create the CA (--encrypt: passphrase)
    server HOST [--ip A] [--days D]           broker certificate for HOST (+ IP SANs)
    issue ID --site S [--role node|operator] [--days D] [--reissue]
    revoke ID [--reason R]                    revoke (CRL) and drop from the ACL
    crl [--days D]                            re-sign the CRL (do it before it expires)
    mosquitto --out DIR [--port P] [--bind A] [--server HOST] [--persist-dir D]
                                              broker config: TLS listener, require_certificate,
                                              use_identity_as_username + use_username_as_clientid,
                                              per-node ACL, persistence
    batch --site-file F --secrets F --nodes F --out DIR   issue + render many nodes' filesystems
    list [--csv]                              the inventory
    update-key                                the Ed25519 key releases are signed with (update.key,
                                              update.pub; made by init too); nodes get update.pub as ota.pub
"""
import argparse
import datetime
import os
import sys

from cryptography import x509

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vnhost.pki import Fleet, FleetError, ca_passphrase, _now  # noqa: E402,F401  (Fleet: the API tests use)


# ---- CLI ------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--dir", default=os.environ.get("VIBENODE_FLEET", "fleet"), help="fleet directory")
    sp = ap.add_subparsers(dest="cmd", required=True)
    p = sp.add_parser("init")
    p.add_argument("--name", default="vibenode fleet CA")
    p.add_argument("--days", type=int, default=3650)
    p.add_argument("--prefix", default="vibenode")
    p.add_argument("--encrypt", action="store_true",
                   help="encrypt the CA key with a passphrase ($VIBENODE_CA_PASS or asked)")
    p = sp.add_parser("server")
    p.add_argument("host")
    p.add_argument("--ip", action="append", default=[])
    p.add_argument("--days", type=int, default=825)
    p = sp.add_parser("issue")
    p.add_argument("id")
    p.add_argument("--site", default="")
    p.add_argument("--role", default="node", choices=("node", "operator"))
    p.add_argument("--days", type=int, default=825)
    p.add_argument("--reissue", action="store_true")
    p = sp.add_parser("revoke")
    p.add_argument("id")
    p.add_argument("--reason", default="unspecified")
    p = sp.add_parser("crl")
    p.add_argument("--days", type=int, default=365)
    p = sp.add_parser("mosquitto")
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=8883)
    p.add_argument("--bind", default="0.0.0.0")
    p.add_argument("--server")
    p.add_argument("--run-as", help="`user` for mosquitto.conf (the account the broker drops to)")
    p.add_argument("--persist-dir", help="where the broker keeps retained messages and sessions (default: --out; "
                                         "Debian's broker: /var/lib/mosquitto)")
    p = sp.add_parser("batch")
    p.add_argument("--site-file", required=True)
    p.add_argument("--secrets", required=True)
    p.add_argument("--nodes", required=True, help="file with one node id per line")
    p.add_argument("--out", required=True)
    sp.add_parser("update-key")
    p = sp.add_parser("list")
    p.add_argument("--csv", action="store_true")
    p.add_argument("--warn-days", type=int, default=60, help="flag certificates and the CRL expiring sooner")
    a = ap.parse_args(argv)
    f = Fleet(a.dir)
    try:
        if a.cmd == "init":
            pw = None
            if a.encrypt:
                pw = ca_passphrase(confirm=True)
                if not pw:
                    raise FleetError("--encrypt: set VIBENODE_CA_PASS or run on a terminal")
            c = f.init(a.name, a.days, a.prefix, pw)
            print("fleet: CA %r created in %s, valid until %s" % (a.name, f.dir, c.not_valid_after_utc.date()))
        elif a.cmd == "update-key":
            f.update_key()
            print("fleet: update key %s (public: %s, provisioned as ota.pub)" % (f.p("update.key"), f.p("update.pub")))
        elif a.cmd == "server":
            cp, kp = f.issue_server(a.host, a.ip, a.days)
            print("fleet: broker certificate %s (key %s)" % (cp, kp))
        elif a.cmd == "issue":
            if a.role == "node" and not a.site:
                raise FleetError("issue: --site is required for a node (its topics live under the site)")
            e = f.issue(a.id, a.site, a.role, a.days, a.reissue)
            print("fleet: %s %s serial %s expires %s" % (e["role"], e["id"], e["serial"], e["not_after"]))
        elif a.cmd == "revoke":
            for e in f.revoke(a.id, a.reason):
                print("fleet: revoked %s serial %s; restart (or SIGHUP) the broker and re-run `fleet.py mosquitto`"
                      % (e["id"], e["serial"]))
        elif a.cmd == "crl":
            crl = f.write_crl(a.days)
            print("fleet: CRL re-signed, next update %s" % crl.next_update_utc.date())
        elif a.cmd == "mosquitto":
            path = f.mosquitto(a.out, a.port, a.bind, a.server, a.run_as, a.persist_dir)
            print("fleet: broker config %s (start: mosquitto -c %s)" % (path, path))
        elif a.cmd == "batch":
            from vnhost import nodefiles as provision
            with open(a.nodes) as fh:
                ids = [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]
            site = provision.read_json(a.site_file, "site file")
            secrets = provision.read_json(a.secrets, "secrets file")
            for nid in ids:  # validate everything before issuing anything
                provision.build_config(nid, site)
                if f.find(nid):
                    raise FleetError("node id %s is already in the fleet inventory" % nid)
            for nid in ids:
                out = os.path.join(a.out, nid)
                provision.render(nid, site, secrets, out, fleet=f, label=os.path.join(a.out, "labels.csv"))
                print("fleet: %s rendered to %s" % (nid, out))
            print("fleet: %d nodes; portal passphrases for the labels in %s (mode 0600)"
                  % (len(ids), os.path.join(a.out, "labels.csv")))
        elif a.cmd == "list":
            inv = f.inventory()
            if a.csv:
                with open(f.p("inventory.csv")) as fh:
                    sys.stdout.write(fh.read())
            else:
                soon = _now() + datetime.timedelta(days=a.warn_days)
                for e in inv:
                    flag = ""
                    if e["status"] == "active" and datetime.datetime.fromisoformat(e["not_after"]) < soon:
                        flag = "  EXPIRES SOON: reissue (`issue %s %s--reissue`) and re-provision" % (
                            e["id"], "--site %s " % e["site"] if e["site"] else "--role operator ")
                    print("%-24s %-8s %-12s %-34s %s %s%s" % (e["id"], e["role"], e["site"], e["serial"],
                                                             e["not_after"][:10], e["status"], flag))
                crl = x509.load_pem_x509_crl(open(f.p("crl.pem"), "rb").read())
                print("CRL next update %s%s" % (crl.next_update_utc.date(), "  RE-SIGN NOW: `crl`"
                                                 if crl.next_update_utc < soon else ""))
    except FleetError as e:
        sys.exit("fleet: " + str(e))
    except Exception as e:  # a site file or node id the node's config validator refuses (batch)
        from vnhost.nodefiles import ProvisionError, nodeconfig
        if isinstance(e, (ProvisionError, nodeconfig.ConfigError)):
            sys.exit("fleet: " + str(e))
        raise


if __name__ == "__main__":
    main()
