# The boot of vibenode/app.py's main(): config -> board -> supervisor -> the node, with the
# fallbacks (the last good config, the provisioning portal). Loaded for the boot and dropped
# after (imported .mpy code sits in the heap); app.py keeps only the loop and the crash handling.
import gc

from vibenode import drop
from vibenode.log import log


def offline_watch(cfg, clock):
    """offline.OfflineWatch, or None when it is not armed (no passphrase, offline_s = 0): its
    code then leaves RAM."""
    from vibenode.offline import OfflineWatch
    w = OfflineWatch(cfg, clock)
    if w.armed:
        return w
    w = OfflineWatch = None
    drop("vibenode.offline")
    gc.collect()
    return None


def _portal(cfg):
    """Serve the provisioning portal (cfg None: there is no usable config), then unload it."""
    from vibenode import portal
    portal.run(cfg)  # with a config: bounded by portal.timeout_s, then normal mode
    mods = portal.MODULES  # the portal and the modules it loads
    portal = None
    for m in mods:
        drop(m)
    gc.collect()


def _tls(cfg):
    if not (cfg.get("tls") or {}).get("enabled"):  # (link.tls loads only for TLS: code is RAM)
        return None
    from link import tls
    ssl = tls.context(cfg)  # CA + client cert/key for mutual TLS
    tls = None
    drop("link.tls")
    return ssl


def prepare():
    """[cfg, ssl context or None, config state for status, board, offline watch, supervisor],
    or None when the portal ran instead (no usable config)."""
    from vibenode import config
    try:
        cfg = config.load()  # falls back to the last good config (status says why)
        ssl = _tls(cfg)
    except ValueError as e:  # config.ConfigError, tls.TLSConfigError: no MQTT at all
        log("config", "%s: provisioning mode, no MQTT" % (e,))
        _portal(None)
        return None
    if config.state["error"]:
        log("config", "running on the last good config: %s" % config.state["error"])
    from vibenode.offline import requested
    if requested():
        _portal(cfg)
    cst = config.status()
    config = None
    import board as board_mod
    board = board_mod.make(cfg)
    offline = offline_watch(cfg, board.clock)
    drop("vibenode.config")
    drop("vibenode.lastgood")
    gc.collect()
    from vibenode.supervisor import Supervisor
    return [cfg, ssl, cst, board, offline, Supervisor(board, board.clock, log=log)]


def node(b):
    """The node on the prepared boot b; when its construction raises on config.json's content,
    on the last good config (no reboot loop)."""
    cfg, ssl, cst, board, offline, sup = b
    b[0] = b[1] = None
    from vibenode.node import Node
    try:
        n = Node(cfg, board, ssl, sup, cst)
    except Exception as e:
        if type(e).__name__ == "ResetRequested" or cst.get("source") != "config.json":
            raise
        from vibenode import config
        cfg = config.fallback(e)  # (None: there is none)
        cst = config.status()
        config = None
        drop("vibenode.config")
        drop("vibenode.lastgood")
        if cfg is None:
            raise
        log("config", "running on the last good config: %s" % cst["error"])
        e = None
        gc.collect()
        n = Node(cfg, board, _tls(cfg), sup, cst)
    n.offline = offline
    return n
