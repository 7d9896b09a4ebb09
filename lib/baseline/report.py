# Report by exception (config baseline.report): the full reading only every `every`-th window,
# or when a feature moved beyond the deadband since the last full reading, or the running
# state, the baseline level or drift changed; otherwise a small heartbeat with the same
# sequence number ({"hb": true, "full": <seq of the last full reading>}): every sequence number
# is still published and queued, so a gap is always a loss, never a suppressed reading.
#
#   "report": {"every": 10, "deadband": 0.2, "deadband_c": 1.0}
#   deadband: relative change of an amplitude (0.2 = 20 %), deadband_c: degC of the temperature
import array
import math


class Rbe:
    def __init__(self, r, nf):
        self.every = r.get("every", 10)
        self.db = int(math.log(1.0 + r.get("deadband", 0.2)) / math.log(2) * 256)
        self.db_c = int(r.get("deadband_c", 1.0) * 256)
        self.prev = array.array("i", bytes(4 * nf))
        self.since = 1 << 20  # windows since the last full reading (the first one goes out full)
        self.state = None
        self.full = None
        self.suppressed = 0

    def pick(self, bl, rep):
        if "x" not in rep:
            return rep
        x = self.prev
        cur = bl.x
        st = bl.running + 2 * bl.level + 8 * bl.drift  # (an int: no tuple per window)
        self.since += 1
        send = self.since >= self.every or st != self.state
        if not send:
            for i in range(len(x)):
                if bl.use[i]:
                    d = cur[i] - x[i]
                    if d < 0:
                        d = -d
                    if d > (self.db_c if bl.lin[i] else self.db):
                        send = True
                        break
        if send:
            for i in range(len(x)):
                x[i] = cur[i]
            self.since = 0
            self.state = st
            self.full = rep["seq"]
            return rep
        self.suppressed += 1
        hb = {"node": rep["node"], "seq": rep["seq"], "ts": rep["ts"], "hb": True, "full": self.full,
              "running": bl.running}
        if "unsync" in rep:
            hb["unsync"] = True
        return hb
