# Baseline learning and judging on MicroPython (tests/test_baseline.py): the viper kernels against
# their plain-Python twins, and the model over many windows of features the compiled engine
# computes from the host board's machine simulator (no node, no broker: the judging over 10 000
# windows in a test's time).
import array
import gc
import json
import os
import sys

from baseline import kernel, twin
from baseline.model import NF, Baseline

sys.path.append(os.getcwd())


def kernels(args):
    """Each case: x (NF raw), st (2 NF), lin, use; tolog, learn (sh), judge (floors) by viper and twin."""
    out = []
    for c in args["cases"]:
        res = []
        for mod in (kernel, twin):
            lin = bytearray(c["lin"])
            use = bytearray(c["use"])
            x = array.array("i", c["x"])
            mod.tolog(x, lin, NF)
            st = array.array("i", c["st"])
            mod.learn(st, x, use, NF, c["sh"])
            z = array.array("i", bytes(4 * (NF + 2)))
            tot = mod.judge(st, x, z, NF, c["floor"], c["floor_c"], lin, use)
            res.append([list(x), list(st), list(z), tot])
        out.append(res)
    return out


def _machine(sim_cfg):
    from simulator import MachineSim
    return MachineSim(sim_cfg)


def healthy(args):
    """Learn, then judge args["windows"] windows of a healthy machine (noise, speed wander, a
    temperature that wanders): the baseline's alarms, level counts and the largest z seen."""
    from features.engine import FeatureEngine
    n = args.get("n", 512)
    rate = 3200
    gap_s = args.get("gap_s", 5)
    sim = _machine(args["sim"])
    eng = FeatureEngine(n, rate, args.get("features") or {})
    cfg = {"baseline": args.get("baseline") or {}, "features": args.get("features") or {}}
    cfg["baseline"]["file"] = args["file"]
    bl = Baseline(cfg)
    ax = [array.array("h", bytes(2 * n)) for _ in range(3)]
    out = array.array("i", (0, 0, 0))
    scale = 0.001  # g per count
    total = args["learn"] + args["windows"]
    alarms = []
    zmax = 0
    judged = 0
    hist = [0] * 12
    worst = []
    rmhz = rate * 1000
    for w in range(total):
        k0 = w * rate * gap_s
        for i in range(n):
            sim.sample(k0 + i, rmhz, out)
            for a in range(3):
                v = out[a] // 1000
                ax[a][i] = 32767 if v > 32767 else (-32768 if v < -32768 else v)
        rep = {"node": "t", "seq": w + 1, "ts": w * gap_s, "temp_c": 40.0 + ((w * 7919) % 100) / 200.0}
        for a in range(3):
            eng.compute(a, ax[a], scale)
            rep["xyz"[a]] = eng.result(a)
        bl.observe(rep)
        for al in bl.take_alarms():
            alarms.append(al)
        if w >= args["learn"] and bl.last is not None:
            judged += 1
            z = bl.last[0] / 256
            zmax = max(zmax, z)
            hist[min(11, int(z))] += 1
            if z >= args.get("show_z", 1000) and len(worst) < 10:
                worst.append([w, z, bl.top()])
        rep = None
        if w % 50 == 0:
            gc.collect()
    return {"worst": worst, "alarms": alarms[:20], "n_alarms": len(alarms), "zmax": zmax, "judged": judged, "hist": hist,
            "count": bl.count, "status": bl.status(),
            "kept": sorted(m for m in sys.modules if m.startswith("baseline."))}


if __name__ == "__main__":
    import harness
    harness.main(globals())
