# ota (vibenode/commands.py loads this for the one command and drops it after):
#   {"id": "r11", "cmd": "ota", "version": "0.2.0", "trial_s": 600[, "url": "http://host/dist/host-0.2.0/"]}
# checks the fields; ctl.ota starts the update (lib/ota/session.py, vibenode/otactl.py).
from vibenode.cmdcheck import printable
from vibenode.cmd_fields import integer
from vibenode.commands import Invalid, only


def run(ctl, req):
    only(req, ("id", "cmd", "node", "version", "url", "trial_s"))
    v = req.get("version")
    if not isinstance(v, str) or not 1 <= len(v) <= 32 or not printable(v) or "/" in v or " " in v:
        raise Invalid("version: 1 to 32 printable characters, no '/' or space")
    url = req.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith("http://") or len(url) > 200
                            or not printable(url) or " " in url):
        raise Invalid("url: an http:// address of at most 200 characters (https is not in this build)")
    t = integer(req.get("trial_s", 600), "trial_s", 5, 86400)
    err = ctl.ota(req["id"], v, t, url)
    if err:
        raise Invalid("ota: %s" % err)
    return {"version": v, "source": "http" if url else "mqtt"}
