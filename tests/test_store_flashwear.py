"""Flash wear of the store on littlefs with 4096-byte erase blocks (measured by a counting RAM
block device on the unix port): bytes programmed and blocks erased per reading, while queueing
(link down), while replaying, and in normal operation (link up). docs/mqtt.md quotes these and
the flash life they imply."""
from conftest import ROOT, mpy_result


def test_flash_bytes_and_erases_per_reading():
    r = mpy_result(open(ROOT + "/tests/mpy/flashwear.py").read())
    print("flash wear per reading:", r)
    q, rp, n = r["queued"], r["replay"], r["normal"]
    # queueing: the record plus littlefs's copy of the partial tail block and metadata
    assert q["bytes"] >= q["payload"] and q["bytes"] < 3 * 4096 and q["erases"] <= 1.5
    # replay: only segment deletions and head checkpoints
    assert rp["bytes"] < 1024 and rp["erases"] < 0.5
    # normal operation: one sequence reservation per 100 readings
    assert n["bytes"] < 64 and n["erases"] < 0.05
