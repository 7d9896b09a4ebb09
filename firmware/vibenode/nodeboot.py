# Node construction (vibenode/node.py's Node.__init__), loaded once at boot and dropped after: its
# bytecode would otherwise sit in the heap for the node's whole life.
from vibenode import drop
from vibenode.log import log, set_clock
from vibenode.sensing import Sensing


def init(node, Inbox, cfg, board, ssl, sup, config_state):
    """Node.__init__: the node's parts, in the heap order tools/memory.py measured best."""
    node.cfg = cfg
    node.board = board
    node.clock = clock = board.clock
    set_clock(clock)
    node.sup = sup
    # config.load()'s findings and the file it ran on (the config code is not kept loaded)
    node.config_state = config_state or {"source": None}
    node.offline = False  # OfflineWatch (None: not armed); made by run() unless main() did
    node.interval_ms = int(cfg["sampling"]["interval_s"] * 1000)
    node.errors = {}
    node.capture_req = None
    node.env_band = None  # the envelope band last on status (known once the engine runs)
    node.reboot_req = False
    node.ident_until = None
    node._hash = None
    node._nest = 0  # Node._cold calls under way
    node.promoted = False  # lastgood.promote() after the first published reading
    node.ota = node.trial = None  # an update in progress / the app on probation (vibenode/otactl.py)
    node.out = None  # (errors found while the sensors are looked for go out with the first status)
    # heap order (measured by tools/memory.py, the smallest heap of a few orders): the sensors are
    # looked for (detection code comes and goes, the driver stays), then the largest buffers while
    # the heap is still in one piece (feature engine, windows) with the sampler started on them
    # (vibenode/sensecold.py, loaded once), then the rest of the node's code and data. (Buffers
    # before detection, or the node's cold code loaded first for its qstrs: no gain measured.)
    early = sup is None or not sup.safe_mode
    node.sense = Sensing(cfg, board, node, early=early)
    from report.encode import Encoder
    enc = Encoder(2048)  # the outbox's one 2 KB buffer, while there is a free 2 KB block
    from vibenode.outbox import Outbox
    from report.alarm import Alarms
    from report import reading  # noqa: F401
    if early:
        node.sense.buffers()
    node.out = out = Outbox(cfg, board, enc, ssl, node.set_error)
    enc = None
    node.link = out.link
    node.topics = out.topics
    node.seqc = out.seqc
    node.queue = out.queue
    node.alarms = Alarms(cfg.get("alarms"))
    node.baseline = None  # baseline learning and judging, report by exception (lib/baseline)
    if isinstance(cfg.get("baseline"), dict) and cfg["baseline"].get("enabled", True):
        from baseline.model import Baseline
        node.baseline = Baseline(cfg, log)
    node.max_window = (cfg.get("reporting") or {}).get("max_window", 4096)
    node.cmds = Inbox(node)
    node.link.on_msg = node.cmds.on_message
    node.link.on_up = node._on_link_up
    node.integ = None  # Home Assistant discovery, Sparkplug B (vibenode/integrations.py)
    if (cfg.get("ha") or {}).get("enabled") or (cfg.get("sparkplug") or {}).get("enabled"):
        from vibenode.integrations import Integrations
        node.integ = Integrations(node, cfg)
    nt = cfg.get("ntp") or {}
    node.ntp = None
    if nt.get("host") or clock.time() < 1600000000:  # configured, or the clock was never set
        from link.ntp import Ntp
        node.ntp = Ntp(clock, nt.get("host", "pool.ntp.org"), nt.get("port", 123), nt.get("timeout_s", 1), log)
    node.otactl = None
    import os
    from ota import WORK
    try:
        os.stat(WORK)  # an update or a probation under way (vibenode/otactl.py: loaded until it ends)
        from vibenode import otactl
        node.otactl = otactl
        otactl.resume(node)
    except OSError:
        drop("ota")
