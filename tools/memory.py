#!/usr/bin/env python3
"""`make memory`: the node's heap on a MicroPython with an ESP32's object sizes, measured in one run.

    make memory MPY32=/path/to/32-bit/micropython     (the x64 port of .venv when none is given)

The node: 3 axes x 2048 samples at 3200 Hz, the full feature set, the store-and-forward queue
(readings queued through a broker outage, then replayed), MQTT without TLS against a real
Mosquitto on 127.0.0.1. The node runs on the host board, whose emulated world (emulated chips,
machine simulator, simulated clock, unix machine/network shims) a device does not have: its
share is measured alone and subtracted. Prints:
  - code: the heap taken by the modules a boot loads and keeps (bytecode, constants, qstrs;
    on a device imported .mpy code sits in the GC heap, frozen code stays in flash);
  - steady data: the node's live data after its windows (a collection between windows);
  - smallest heap: the smallest -X heapsize the whole run works in (at that size and the next
    three: near the limit success is not monotonic), less the world's share = what the node
    needs (code + peak data, fragmentation included); peak data = that less the code.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MPY64 = os.path.join(ROOT, ".venv", "bin", "micropython")
PROBE = os.path.join(ROOT, "tests", "mpy", "memprobe.py")
QSTRCOUNT = os.path.join(ROOT, "tests", "mpy", "qstrcount.py")
WORLD_MODULES = ("hostboot", "board", "machine", "network", "simclock", "simulator", "recording", "ussl", "emulators",
                 "memprobe", "builtins", "micropython", "gc", "sys", "json")  # (memprobe.py's WORLD, and its own)
MOSQUITTO = "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else "mosquitto"
FEATURES = {"bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}},
            "rpm": "auto", "rpm_range": [600, 3600], "envelope": {"band": [800, 1550]}, "top_k": 5}
CYCLES = 40
BASELINE = None  # --baseline: the node also learns and judges a baseline (lib/baseline), with report by exception
OUTAGE = 3  # readings queued before the broker comes up


def arch_of(mpy):
    r = subprocess.run([mpy, "-c", "import sys; print(sys.implementation._mpy)"], capture_output=True, text=True)
    v = int(r.stdout.strip())
    return {1: "x86", 2: "x64"}.get((v >> 10) & 0xF, "other")


def build_tree(arch):
    args = [sys.executable, os.path.join(ROOT, "tools", "build.py"), "host"] + (["--arch", arch] if arch != "x64"
                                                                                  else [])
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, "build", "host" if arch == "x64" else "host-" + arch)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


EXTRA = {}  # --integrations: Home Assistant discovery and Sparkplug B on (vibenode/integrations.py)
CHIP = None  # --chip iis3dwb: the wide-band node (its stream is its measurement: vibenode/wideband.py)
STREAM_AXES = None  # --stream-axes 1|2|3: the wide-band node's features.stream.axes (default 1, as on a heap
# without PSRAM: written into the config, since the node's own default depends on the heap it finds)


def node_config(port, chip=None, stream_axes=None):
    """The measured node's config.json (chip: None for the standard ADXL345 node, or "iis3dwb")."""
    cfg = {**EXTRA, "node_id": "mem-0001", "site": "plant1",
           "mqtt": {"host": "127.0.0.1", "port": port, "prefix": "vibenode", "keepalive": 10},
           "sampling": {"rate": 3200, "range_g": 16, "window": 2048, "interval_s": 1},
           "features": FEATURES,
           "board": {"name": "host", "sim": {"imbalance_g": [1.0, 0.2, 0.1], "noise_g": 0.02}},
           **({"baseline": BASELINE} if BASELINE is not None else {})}
    if chip == "iis3dwb":
        cfg["sampling"] = {"rate": 26667, "range_g": 16, "window": 2048, "interval_s": 2}
        cfg["board"]["chips"] = ["iis3dwb@spi1:5", "tmp117@i2c0:0x48"]
        cfg["features"] = dict(FEATURES, stream={"axes": stream_axes or 1})
    return cfg


class Broker:
    def __init__(self, port):
        self.dir = tempfile.mkdtemp(prefix="vn-mem-broker-")
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n" % port)
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Commander:
    """A command for the node, sent once its birth message (status online) shows it subscribed
    (commands are never retained: a retained one is refused by design), and the acks counted:
    command handling (its code is loaded for a batch of commands) is part of the run."""

    def __init__(self, port, node_id="mem-0001"):
        import paho.mqtt.client as mqtt
        base = "vibenode/plant1/%s/" % node_id
        self.acks = 0
        self.sent = False
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="mem-cmd-%d" % os.getpid())

        def on_message(c, u, m):
            if m.topic.endswith("/status"):
                if not self.sent and b'"online"' in m.payload:
                    self.sent = True
                    c.publish(base + "cmd", json.dumps({"id": "m1", "cmd": "get_config"}), qos=1)
            elif b'"m1"' in m.payload and b'"ok": true' in m.payload:
                self.acks += 1

        def on_connect(c, u, f, rc, p=None):
            c.subscribe(base + "cmd/ack", 1)
            c.subscribe(base + "status", 1)

        self.c.on_message = on_message
        self.c.on_connect = on_connect
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        deadline = time.time() + 5
        while not self.c.is_connected() and time.time() < deadline:
            time.sleep(0.01)
        import threading

        def again():  # (sent before the node's SUBSCRIBE landed: lost; get_config may repeat its id)
            for _ in range(60):
                time.sleep(1)
                if self.acks or self.c is None:
                    return
                if self.sent:
                    self.c.publish(base + "cmd", json.dumps({"id": "m1", "cmd": "get_config"}), qos=1)
        threading.Thread(target=again, daemon=True).start()

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


class Probe:
    def __init__(self, mpy, tree, chip=None, stream_axes=None):
        self.mpy = mpy
        self.chip = chip
        self.stream_axes = stream_axes
        self.env = dict(os.environ)
        self.env["MICROPYPATH"] = os.path.join(tree, "lib")

    def fs(self, port):
        d = tempfile.mkdtemp(prefix="vn-mem-fs-")
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(node_config(port, self.chip, self.stream_axes), f)
        return d

    def run(self, args, heap="4m", port=None, outage=False, timeout=300):
        """(RESULT dict or None, output). outage: the broker comes up once OUTAGE readings are
        queued (the node boots with no broker)."""
        port = port or free_port()
        fs = self.fs(port)
        broker = None
        cmd = [self.mpy, "-X", "heapsize=%s" % heap, PROBE] + [str(a) for a in args]
        try:
            if not outage:
                broker = Broker(port) if args[0] == "node" else None
                r = subprocess.run(cmd, cwd=fs, env=self.env, capture_output=True, text=True, timeout=timeout)
                out = r.stdout + r.stderr
            else:
                p = subprocess.Popen(cmd, cwd=fs, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
                lines = []
                commander = None
                try:
                    for ln in p.stdout:
                        lines.append(ln)
                        if broker is None and "seq %d not delivered" % OUTAGE in ln:  # (readings, not records: alarms are queued too)
                            broker = Broker(port)
                            commander = Commander(port)
                    p.wait(timeout=timeout)
                finally:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                    if commander is not None:
                        commander.close()
                out = "".join(lines)
                if commander is not None:
                    out += "\nACKS %d\n" % commander.acks
        finally:
            if broker:
                broker.stop()
            shutil.rmtree(fs, ignore_errors=True)
        for ln in out.splitlines()[::-1]:
            if ln.startswith("RESULT "):
                res = json.loads(ln[7:])
                res["modules"] = sorted(m[7:] for m in out.splitlines() if m.startswith("MODULE "))
                return res, out
        return None, out

    def node_ok(self, kb, cycles):
        res, out = self.run(["node", cycles], heap="%dk" % kb, outage=True)
        if res is None or "MemoryError" in out or "Traceback" in out:
            return False
        c = res.get("counters") or {}
        acks = [int(ln[5:]) for ln in out.splitlines() if ln.startswith("ACKS ")]
        return acks and acks[0] >= 1 and c.get("queued") == 0 and c.get("replayed", 0) >= OUTAGE and c.get("sent", 0) + c.get("replayed", 0) \
            >= cycles and not res.get("errors")


def smallest_heap(probe, cycles, lo, hi, step=2):
    """Smallest heap (KB, in steps of `step`) from which the run works there and at the next three
    sizes; coarse descent from hi, then a scan up from just below the first failure."""
    ok = {}

    def good(kb):
        if kb not in ok:
            ok[kb] = probe.node_ok(kb, cycles)
        return ok[kb]

    while not good(hi):
        if hi > 4 * lo:
            return None
        hi += 64
    kb = hi
    coarse = 8
    while kb - coarse >= lo and good(kb - coarse):
        kb -= coarse
    start = max(lo, kb - coarse)
    for k in range(start, hi + 1, step):
        if all(good(k + i * step) for i in range(4)):
            return k
    return hi


def kb(b):
    return "%.1f KB" % (b / 1024)


def qstrs_of(log):
    """micropython.qstr_info()'s figures in a probe's output: {n_pool, n_qstr, n_str_data_bytes,
    n_total_bytes} (the last such line), or None."""
    for ln in log.splitlines()[::-1]:
        if ln.startswith("qstr pool:"):
            return {k: int(v) for k, v in (kv.split("=") for kv in ln[10:].replace(",", " ").split())}
    return None


def pool_entries(n_pool):
    """Entries in the first n_pool qstr pools (20, 40, 80, ... entries: each twice the last)."""
    return sum(20 << i for i in range(n_pool))


def qstr_report(probe, cycles, q_run, fig, out):
    """Interned names (qstrs) of the run against those of the node's own modules alone. Names are
    never freed, in pools that double (20, 40, ... 1280 entries); the host board's world interns
    its own names too, so the run may allocate a pool that the node alone, on a device, would not."""
    if not q_run:
        return
    _, ilog = probe.run(["imports", cycles], outage=True)
    every = sorted({m for m in (ln[9:] for ln in ilog.splitlines() if ln.startswith("IMPORTED "))
                    if m.split(".")[0] not in WORLD_MODULES})
    q_alone = qstrs_of(subprocess.run([probe.mpy, "-X", "heapsize=4m", QSTRCOUNT] + every, capture_output=True,
                                      text=True, env=probe.env).stdout)
    if not q_alone:
        return
    node = q_alone["n_qstr"]  # the modules' names on a bare interpreter (its own few included)
    pools = 1
    while pool_entries(pools) < node:
        pools += 1
    per = (q_run["n_total_bytes"] - q_run["n_str_data_bytes"]) / pool_entries(q_run["n_pool"])  # bytes an entry
    fig["qstrs"] = {"run": q_run["n_qstr"], "run_pools": q_run["n_pool"], "node_alone": node, "node_pools": pools,
                    "modules": len(every)}
    out("  interned names: the run %d (%d pools, %s with their text); the %d modules it loaded, on a bare "
        "interpreter (no host world; tests/mpy/qstrcount.py): %d, %d pools (%d entries)" % (
            q_run["n_qstr"], q_run["n_pool"], kb(q_run["n_total_bytes"]), len(every), node, pools,
            pool_entries(pools)))
    if pools < q_run["n_pool"]:
        extra = sum(20 << i for i in range(pools, q_run["n_pool"]))
        fig["qstrs"]["world_pools_bytes"] = int(extra * per)
        out("  -> the run's last %d pool(s) (%d entries, %s) are the host world's doing: a device running these "
            "modules needs no such pool (not subtracted from the figures here)" % (q_run["n_pool"] - pools, extra,
                                                                                  kb(extra * per)))


def measure(mpy, cycles=CYCLES, find_smallest=True, out=print):
    arch = arch_of(mpy)
    tree = build_tree(arch)
    probe = Probe(mpy, tree, CHIP, STREAM_AXES)
    res, log = probe.run(["node", cycles], outage=True)
    if res is None:
        raise SystemExit("memory: the node did not run:\n" + log[-3000:])
    q_run = qstrs_of(log)
    mods = res["modules"]
    w, _ = probe.run(["world"])
    c, log = probe.run(["code"] + mods)
    if c is None:
        raise SystemExit("memory: importing the node's modules failed:\n" + log[-3000:])
    world = w["world"]
    code = c["code"]
    steady = res["total"] - world - code
    fig = {"interpreter": mpy, "arch": arch, "world": world, "code": code, "steady": steady, "modules": mods,
           "counters": res["counters"]}
    out("memory model on %s (%s%s)" % (mpy, arch, "" if arch == "x86" else ": 64-bit objects, pointers twice an "
                                        "ESP32's; give MPY32=<32-bit micropython> for device figures"))
    what = "3 axes x 2048 at 3200 Hz"
    if CHIP:
        what = "IIS3DWB at 26667 Hz, %d axes streamed (2048-point envelope and velocity at 1667 Hz)" % (
            STREAM_AXES or 1)
    out("  node: %s, full features, queue (%d readings through an outage), MQTT without TLS, Mosquitto, a "
        "command; %d windows" % (what, OUTAGE, cycles))
    out("  host board's world (emulators, simulator, shims; excluded below): %s" % kb(world))
    out("  code a boot loads (%d modules): %s" % (len(mods), kb(code)))
    out("  steady data after the windows: %s" % kb(steady))
    qstr_report(probe, cycles, q_run, fig, out)
    if find_smallest:
        guess = (world + code + steady) // 1024
        s = smallest_heap(probe, cycles, guess, guess + 48)
        if s is None:
            out("  smallest heap: the run fails even at %d KB" % (4 * guess))
        else:
            need = s * 1024 - world
            fig.update(smallest=s * 1024, need=need, peak=need - code)
            out("  smallest heap the run works in: %d KB, less the world = the node needs %s" % (s, kb(need)))
            out("  peak data (node need - code, fragmentation included): %s" % kb(need - code))
    return fig


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mpy", default=os.environ.get("MPY32") or None,
                    help="32-bit MicroPython (default $MPY32, else the x64 port of .venv)")
    ap.add_argument("--cycles", type=int, default=CYCLES)
    ap.add_argument("--no-smallest", action="store_true", help="skip the smallest-heap search (slow)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--integrations", choices=("ha", "sparkplug", "both"),
                    help="with Home Assistant discovery and/or Sparkplug B enabled (their cost)")
    ap.add_argument("--baseline", action="store_true", help="the node with a baseline section (learn 20 windows, "
                                                            "then judge; report by exception)")
    ap.add_argument("--chip", choices=("iis3dwb",), help="measure the node with this accelerometer instead")
    ap.add_argument("--stream-axes", type=int, choices=(1, 2, 3), help="with --chip iis3dwb: features.stream.axes (default 1)")
    a = ap.parse_args(argv)
    global CHIP, STREAM_AXES
    CHIP = a.chip
    STREAM_AXES = a.stream_axes
    if a.integrations in ("ha", "both"):
        EXTRA["ha"] = {"enabled": True}
    if a.integrations in ("sparkplug", "both"):
        EXTRA["sparkplug"] = {"enabled": True, "group": "plant1"}
    if a.baseline:
        global BASELINE
        BASELINE = {"learn": 20, "report": {"every": 10}}
    mpy = a.mpy
    if not mpy:
        mpy = MPY64
        print("memory: no MPY32 given: measuring on the 64-bit unix port (%s); device figures need a 32-bit "
              "MicroPython (MPY32=<path>)" % mpy)
    if os.sep in mpy:
        mpy = os.path.abspath(mpy)  # (the probes run in scratch folders)
    fig = measure(mpy, a.cycles, not a.no_smallest)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(fig, f, indent=1)


if __name__ == "__main__":
    main()
