#!/usr/bin/env python3
"""Provision one vibenode: `make provision NODE=pump-07 SITE=site.json [SECRETS=secrets.json] [PORT=|OUT=]`.

    provision.py --node-id ID --site SITE.json [--secrets SECRETS.json] [--fleet DIR]
                 (--port /dev/ttyUSB0 | --out DIR)

1. builds the node's config from the site file (everything but the node id; see
   docs/provisioning.md) and its secrets from the secrets file, or asks for each Wi-Fi
   passphrase when there is no secrets file;
2. issues the node's client certificate from the fleet CA (--fleet DIR; refuses an id that is
   already in the fleet inventory unless --reissue), or takes --ca/--cert/--key files;
3. generates the node's own captive-portal passphrase, appended with the AP name to --label FILE
   (default labels.csv, mode 0600) for the label printer; it is never printed to the terminal;
4. validates all of it with the device's own validator (firmware/vibenode/config.py);
5. renders the node's filesystem: config.json, secrets.json, ca.pem, client.pem;
6. --out DIR: writes the files there (the host board boots from such a folder);
   --port PORT: copies them to the device with mpremote as *.new, checks their SHA-256 on the
   device, renames them into place (secrets first, config last) and checks the hashes again.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from vnhost.nodefiles import (WRITE_ORDER, ProvisionError, build_config, prompt_secrets,  # noqa: E402
                              read_json, render_files, render_identity, write_dir, write_label)
from vnhost.pki import Fleet, FleetError  # noqa: E402

MPREMOTE = os.path.join(ROOT, ".venv", "bin", "mpremote")


# ---- device over mpremote ------------------------------------------------------------------
def _mpremote(port, args, timeout=60):
    try:
        return subprocess.run([MPREMOTE, "connect", port] + args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ProvisionError("device on %s stopped answering (mpremote timed out)" % port)


def _last(r):
    lines = (r.stderr or r.stdout or "").strip().splitlines()
    return lines[-1] if lines else "exit %d" % r.returncode


def probe_raw_repl(port, timeout=3.0):
    """Ask the device on `port` for MicroPython's raw REPL (Ctrl-C, Ctrl-A) and leave it again
    (Ctrl-B). True if it answered like MicroPython within `timeout` seconds."""
    import serial
    try:
        s = serial.serial_for_url(port, baudrate=115200, timeout=0.1)
    except (serial.SerialException, OSError, ValueError) as e:
        raise ProvisionError("no device at %s (%s)" % (port, e))
    try:
        s.write(b"\r\x03\x03")
        time.sleep(0.1)
        s.reset_input_buffer()
        s.write(b"\r\x01")
        buf = b""
        deadline = time.time() + timeout
        while time.time() < deadline and b"raw REPL; CTRL-B to exit" not in buf:
            buf += s.read(256)
            buf = buf[-4096:]
        ok = b"raw REPL; CTRL-B to exit" in buf
        s.write(b"\r\x02")
        return ok
    except (serial.SerialException, OSError):
        return False
    finally:
        s.close()


def check_device(port):
    if port.startswith("/dev/") and not os.path.exists(port):
        raise ProvisionError("no device at %s (plugged in? `.venv/bin/mpremote devs` lists serial ports)" % port)
    if not probe_raw_repl(port):
        raise ProvisionError("the device on %s does not answer as MicroPython (no raw REPL): flash MicroPython "
                             "and install vibenode first (README: Flashing a real ESP32, `make deploy`)" % port)
    r = _mpremote(port, ["exec", "import sys; print('MPY', sys.implementation.name)"], timeout=30)
    if r.returncode or "MPY micropython" not in r.stdout:
        raise ProvisionError("the device on %s does not answer as MicroPython (%s)" % (port, _last(r)))


def _device_hashes(port, names):
    code = ("import hashlib, binascii\n"
            "for n in %r:\n"
            " try:\n"
            "  f = open(n, 'rb'); h = hashlib.sha256(f.read()); f.close()\n"
            "  print('H', n, binascii.hexlify(h.digest()).decode())\n"
            " except OSError:\n"
            "  print('H', n, '-')\n" % (list(names),))
    r = _mpremote(port, ["exec", code])
    if r.returncode:
        raise ProvisionError("reading hashes back from %s failed: %s" % (port, _last(r)))
    out = {}
    for ln in r.stdout.splitlines():
        p = ln.split()
        if len(p) == 3 and p[0] == "H":
            out[p[1]] = p[2]
    return out


def write_device(files, port, tmpdir, checked=False):
    """Copy to the device as *.new, verify, rename into place, verify again."""
    if not checked:
        check_device(port)
    order = [n for n in WRITE_ORDER if n in files] + sorted(set(files) - set(WRITE_ORDER))
    write_dir(files, tmpdir)
    args = []
    for n in order:
        if args:
            args.append("+")
        args += ["fs", "cp", os.path.join(tmpdir, n), ":" + n + ".new"]
    r = _mpremote(port, args, timeout=120)
    if r.returncode:
        raise ProvisionError("copying to %s failed: %s" % (port, _last(r)))
    want = {n: hashlib.sha256(files[n]).hexdigest() for n in order}
    got = _device_hashes(port, [n + ".new" for n in order])
    bad = [n for n in order if got.get(n + ".new") != want[n]]
    if bad:
        raise ProvisionError("verification failed on %s: %s differ after copy; nothing was replaced"
                             % (port, ", ".join(bad)))
    code = ("import os\n"
            "for n in %r:\n"
            " try:\n"
            "  os.rename(n + '.new', n)\n"
            " except OSError:\n"
            "  os.remove(n); os.rename(n + '.new', n)\n" % (order,))
    r = _mpremote(port, ["exec", code])
    if r.returncode:
        raise ProvisionError("installing the files on %s failed: %s" % (port, _last(r)))
    got = _device_hashes(port, order)
    bad = [n for n in order if got.get(n) != want[n]]
    if bad:
        raise ProvisionError("verification failed on %s: %s differ after install" % (port, ", ".join(bad)))
    return want


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--node-id", required=True)
    ap.add_argument("--site", help="site file: the config without node_id (required unless --portal-only)")
    ap.add_argument("--portal-only", action="store_true",
                    help="identity, portal passphrase and certificate only: configure the rest in the field")
    ap.add_argument("--site-name", default="default", help="with --portal-only: the node's site (topics, ACL)")
    ap.add_argument("--secrets", help="secrets file (Wi-Fi passphrases, MQTT credentials); asked for if absent")
    ap.add_argument("--fleet", help="fleet directory (tools/fleet.py): issue the node's client certificate")
    ap.add_argument("--reissue", action="store_true", help="revoke and replace an id already in the inventory")
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--label", default="labels.csv",
                    help="CSV (mode 0600) to append id, access point and portal passphrase to, for the label "
                         "printer (default labels.csv; the passphrase never goes to the terminal)")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", help="serial port of the device (mpremote)")
    g.add_argument("--out", help="render the filesystem into this folder instead")
    a = ap.parse_args(argv)
    try:
        if a.portal_only:
            site = secrets = None
        elif not a.site:
            raise ProvisionError("--site FILE is required (or --portal-only)")
        else:
            site = read_json(a.site, "site file")
            if a.secrets:
                secrets = read_json(a.secrets, "secrets file")
            else:
                secrets = prompt_secrets(build_config(a.node_id, site))
        fleet = None
        if a.fleet:
            fleet = Fleet(a.fleet)
            if not fleet.exists():
                raise ProvisionError("no fleet CA in %s (create it: tools/fleet.py --dir %s init)" % (a.fleet, a.fleet))
        if a.port:
            check_device(a.port)  # before issuing a certificate for a device that isn't there
        if a.portal_only:
            files, psk = render_identity(a.node_id, a.site_name, fleet=fleet, reissue=a.reissue)
        else:
            files, psk = render_files(a.node_id, site, secrets, fleet=fleet, ca=a.ca, cert=a.cert, key=a.key,
                                      reissue=a.reissue)
        if a.out:
            write_dir(files, a.out)
            print("provision: %s rendered to %s (%s)" % (a.node_id, a.out, ", ".join(sorted(files))))
        else:
            import tempfile
            with tempfile.TemporaryDirectory() as tmp:
                hashes = write_device(files, a.port, tmp, checked=True)
            print("provision: %s written to %s, %d files verified by SHA-256; reset the device to start it"
                  % (a.node_id, a.port, len(hashes)))
        write_label(a.label, a.node_id, psk)
        print("provision: label for %s (access point vibenode-%s, portal passphrase) appended to %s"
              % (a.node_id, a.node_id, a.label))
    except (ProvisionError, FleetError) as e:
        sys.exit("provision: " + str(e))


if __name__ == "__main__":
    main()
