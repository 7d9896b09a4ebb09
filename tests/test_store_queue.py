"""Store-and-forward queue, sequence counter and atomic files on the unix port (VfsPosix),
judged against plain-list models on the CPython side."""
from conftest import mpy_case


def test_queue_order_reopen_capacity_and_torn_tail(tmp_path):
    r = mpy_case("store_cases", "queue", cwd=str(tmp_path))
    assert r["first10"] == [[i % 2, i] for i in range(1, 11)]  # kind and payload kept, in order
    assert r["len_after_reopen"] == 20
    assert r["rest"] == list(range(11, 41))
    assert r["files_left"] == []  # delivered segments are deleted
    # capacity 20 of 100 pushed: the newest 20 kept, 80 dropped and counted across the reboot
    assert r["kept"] == list(range(81, 101)) and r["dropped"] == 80
    # 7 popped, checkpoint every 4: the 4 checkpointed stay gone, 3 come back (duplicates)
    assert r["resume_at"] == 5 and r["resume_len"] == 16
    assert r["torn"] == [1, 2, 3, 4, 5, 7] and r["torn_corrupt"] >= 1


def test_sequence_counter_persists_without_a_write_per_reading(tmp_path):
    r = mpy_case("store_cases", "seqno_and_atomic", cwd=str(tmp_path))
    assert r["a"] == [1, 250]
    assert r["writes"] == 3  # 250 readings, one reservation per 100
    assert r["after_crash"] == 301 and r["first"] == 301  # > 250: never reused, the gap is announced (seq0)
    assert r["after_clean"] == 312  # 301..311 taken, then an exact save: no gap
    assert r["fallback"] == {"v": 1}  # damaged current file: the last good copy
    assert r["missing"] == {"v": 1}  # current file gone (cut between the renames): the last good copy
