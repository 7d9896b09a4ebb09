# Boot: config -> board -> supervisor -> the node (vibenode/node.py), and crash handling.
#
#   import vibenode.app; vibenode.app.main()        (firmware/main.py; boards/host/hostboot.py)
#
# A config that does not validate falls back to the last good one (status says why); with none
# usable the node offers the provisioning portal instead of MQTT. A config becomes the last good
# one once the node published a reading on it (node.py); when the boot raises on config.json's
# content, the node runs on the last good pair for this boot (status says why). The config validation, the
# TLS setup and the portal are loaded for the boot and dropped after (imported .mpy code sits in
# the heap). An unhandled error keeps its traceback for the next boot's crash event (supervisor)
# and restarts the chip.
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


def _boot():
    """(cfg, ssl context or None, config state for status) or None when the portal ran instead."""
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
    return cfg, ssl, config.status()


def main(cycles=None):
    b = _boot()
    if b is None:
        return None
    cfg, ssl, cst = b
    b = None
    import board as board_mod
    board = board_mod.make(cfg)
    offline = offline_watch(cfg, board.clock)
    drop("vibenode.config")
    drop("vibenode.lastgood")
    gc.collect()
    from vibenode.supervisor import Supervisor
    sup = Supervisor(board, board.clock, log=log)
    node = None
    try:
        from vibenode.node import Node
        try:
            node = Node(cfg, board, ssl, sup, cst)
        except Exception as e:  # from config.json's content: the last good config (no reboot loop)
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
            node = Node(cfg, board, _tls(cfg), sup, cst)
        node.offline = offline
        offline = None
        node.run(cycles)
    except Exception as e:
        if type(e).__name__ == "ResetRequested":  # the host board's machine.reset()
            raise
        # an unhandled error: keep the traceback for the next boot's event, then restart
        import sys
        sys.print_exception(e)
        sup.crashed(e)
        import machine
        machine.reset()
    return node
