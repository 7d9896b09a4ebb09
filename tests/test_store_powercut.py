"""Store-and-forward queue and atomic config under a power cut at every block write.

tests/mpy/powercut.py runs on the unix port: littlefs (os.VfsLfs2) on a RAM block device whose
k-th write is torn and every later write fails, for every k of a complete run of the workload
(a queue left by a previous boot is reopened, 36 readings pushed, every third delivered, the
node config saved with config.save every seventh, a state file with store.atomic every fifth). Each image is then mounted as after a reboot. The expected queue
content is a plain list model kept beside the workload (push appends and drops the oldest
beyond capacity, delivery removes the oldest)."""
import json
import os

from conftest import ROOT, run_mpy

CAP = 12


def _trials():
    r = run_mpy(open(os.path.join(ROOT, "tests", "mpy", "powercut.py")).read(), timeout=300)
    trials = [json.loads(line[6:]) for line in r.stdout.splitlines() if line.startswith("TRIAL ")]
    total = [json.loads(line[7:]) for line in r.stdout.splitlines() if line.startswith("RESULT ")][0]
    return total["total_writes"], trials


def test_power_cut_at_every_block_write():
    total, trials = _trials()
    assert total > 150, "the workload should exercise many block writes"
    assert len(trials) == total + 1
    full = trials[0]
    assert not full["cut"] and full["log"]["end"] == 1
    assert full["ids"] == full["log"]["model"], "an uncut run keeps exactly the undelivered records"
    cut_in = {"push": 0, "pop": 0, "other": 0}
    for k, t in enumerate(trials[1:], 1):
        where = "cut at write %d: %s" % (k, json.dumps(t)[:600])
        assert t["cut"], where  # every k < total really cut the run
        assert t["mount"] == "ok", where  # the filesystem mounts
        assert "error" not in t, where  # the queue opens and reads
        log = t["log"]
        assert "order_error" not in log, where  # delivery was in order before the cut
        ids = t["ids"]
        # in order, no holes
        assert ids == list(range(ids[0], ids[0] + len(ids))) if ids else True, where
        must = list(log["model"])
        if log["popping"] is not None:  # cut while forgetting a delivered record: may go either way
            cut_in["pop"] += 1
            assert must and must[0] == log["popping"], where
            must = must[1:]
        elif log["pushing"] is not None:
            cut_in["push"] += 1
            if len(must) == CAP:  # a push into a full queue first drops the oldest (counted)
                must = must[1:]
        else:
            cut_in["other"] += 1
        # every flushed, undelivered, undropped record is there ...
        for i in must:
            assert i in ids, "record %d lost; %s" % (i, where)
        # ... and nothing newer than what was being written
        newest = log["pushing"] if log["pushing"] is not None else log["flushed"]
        assert not ids or ids[-1] <= newest, where
        if ids and must:
            assert ids[-1] >= must[-1], where
        # what precedes the must-have records can only be delivered/dropped ones (duplicates)
        assert not ids or ids[0] >= 1, where
        # config (config.save / config.load) and a state file (store.atomic): old or new, never
        # anything else, never missing
        for key, got in (("cfg", t["cfg"]), ("st", t["st"])):
            allowed = {log[key + "_done"]}
            if log[key + "_try"] is not None and log[key + "_try"] != log[key + "_done"]:
                allowed.add(log[key + "_try"])
                cut_in[key] = cut_in.get(key, 0) + 1
            assert got in allowed, (key, where)
        # the queue keeps working after the reboot
        assert t["after"] == 999, where
    # the cuts landed inside pushes, deliveries and config writes alike
    assert cut_in["push"] > 50 and cut_in["pop"] > 5 and cut_in["other"] > 20, cut_in
    assert cut_in.get("cfg", 0) > 10 and cut_in.get("st", 0) > 10, cut_in  # cuts inside both kinds of save
