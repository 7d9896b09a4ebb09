# The node's status payload (the retained status topic), built on a state change: loaded by
# Node.status() (vibenode/node.py) for the call and dropped after.
import json

from vibenode import VERSION


def status(node, state="online"):
    sup = node.sup
    sense = node.sense
    eng = sense.engine
    if node._hash is None:
        node._hash = config_hash(node)
    st = {"state": state, "node": node.cfg["node_id"], "fw": VERSION, "board": node.board.NAME,
          "sensors": sense.names(), "engine": eng.impl if eng else None, "errors": node.errors,
          "reset_cause": node.board.reset_cause(), "config": node.config_state,
          "config_hash": node._hash, "seq0": node.seqc.first, "queued": len(node.queue),
          "lost_storage": node.queue.lost_storage, "link_failures": node.link.failures,
          "interval_s": node.interval_ms / 1000, "window": sense.n, "env_band": node.env_band}
    if node.baseline is not None:
        st["baseline"] = b = node.baseline.status()
        st["learning"] = b["learning"]
    if sup is not None:
        st["boot"] = sup.info()
        st["safe_mode"] = sup.safe_mode
    return json.dumps(st)


def config_hash(node):
    """The running config file's hash (first 6 bytes of its SHA-256, hex) for status."""
    try:
        import hashlib
        import binascii
        with open(node.config_state.get("source") or "config.json", "rb") as f:
            return binascii.hexlify(hashlib.sha256(f.read()).digest()[:6]).decode()
    except Exception:
        return "unknown"
