"""The store on a filesystem that fills up (issue 10, items 1-3): tests/mpy/storefull.py runs on
the unix port with littlefs2 and FAT (MicroPython's own drivers) on a small RAM block device,
filled by a ballast file until writes fail with ENOSPC and freed by removing it.

  1. a checkpoint that cannot be written is reported, not raised; replay pauses until it can be
     written, so a reboot re-sends at most `checkpoint` records (counted: `unsaved`), and resumes
     when space returns;
  2. a failed record write leaves nothing in the way: every record push acknowledged is replayed,
     in order, after a reboot (FAT leaves a short write behind; littlefs does not);
  3. the failure reads "queue: no space left on device", the lost readings are counted
     (`lost_storage`), and the error clears at the first successful write.
The sequence counter's reservation write on a full filesystem does not crash the node either."""
import json
import os

import pytest

from conftest import ROOT, run_mpy

NOSPC = "queue: no space left on device"


def run(what):
    r = run_mpy(open(os.path.join(ROOT, "tests", "mpy", "storefull.py")).read(), args=[what], timeout=120)
    return [json.loads(line[7:]) for line in r.stdout.splitlines() if line.startswith("RESULT ")][0]


@pytest.mark.vfslfs
def test_full_flash_during_replay_checkpoint_is_reported_and_replay_resumes():
    r = run("checkpoint")
    assert r["ballast"] > 4096
    assert r["crash_full"] is None, "a checkpoint write on a full filesystem escaped: %s" % r["crash_full"]
    assert r["full"]["error"] == NOSPC, r["full"]
    full = r["delivered_full"]
    assert full and full == list(range(1, len(full) + 1))
    # replay paused: at most `checkpoint` (4) delivered past the last checkpoint; a reboot now
    # re-sends those, and the queue counted them
    assert len(full) < 20
    resent = full[-1] - r["reboot_resumes_at"] + 1
    assert 0 <= resent <= r["full"]["unsaved"] <= 4, r
    # space returns: the rest goes out, each once, and the queue is empty across a reboot
    assert r["crash_after"] is None
    assert full + r["delivered_after"] == list(range(1, 21))
    assert r["after"]["error"] is None and r["after"]["len"] == 0 and r["reboot2_len"] == 0


@pytest.mark.parametrize("fs", ["fat", pytest.param("lfs", marks=pytest.mark.vfslfs)])
def test_failed_record_write_loses_nothing_acknowledged_and_is_counted(fs):
    r = run("partial-" + fs)
    assert len(r["failed"]) == 3, r
    assert r["errors"] == ["StorageError: " + NOSPC] * 3, r["errors"]
    assert r["full"]["error"] == NOSPC and r["full"]["lost_storage"] == 3
    assert r["after"]["error"] is None, "the error clears at the first successful write"
    assert r["after"]["lost_storage"] == 3 and r["after"]["len"] == len(r["acked"])
    assert r["crash_reboot"] is None
    assert r["replayed_reboot"] == r["acked"], "acknowledged %s, replayed %s" % (r["acked"], r["replayed_reboot"])
    assert not set(r["failed"]) & set(r["replayed_reboot"])


@pytest.mark.parametrize("fs", ["fat", pytest.param("lfs", marks=pytest.mark.vfslfs)])
def test_sequence_reservation_on_a_full_filesystem(fs):
    r = run("seqno-" + fs)
    assert r["crash_full"] is None, r["crash_full"]
    assert r["taken"] == list(range(1, 15)), r["taken"]
    assert r["error_full"] in (None, "seq: no space left on device")
    if fs == "fat":  # (littlefs keeps the small file in its directory block)
        assert r["error_full"] == "seq: no space left on device"
    assert r["error_after"] is None
    assert r["reboot_next"] > r["taken"][-1], "numbers handed out before the reboot are never reused"
