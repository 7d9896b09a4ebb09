"""Capture reassembly (tools/vnmon/captures.py): chunks in any order and twice, a capture whose
chunks stop coming (stored incomplete after the timeout, missing indices named), bad chunks,
and the bound on captures in progress."""
from vnmon import synth
from vnmon.captures import Reassembler


def test_reassembly_out_of_order_duplicates_timeout_and_bounds():
    r = Reassembler(timeout_s=10, max_values=5000, max_pending=2)
    wave = {"x": list(range(-1500, 1500)), "y": [7] * 100}
    parts = synth.capture_chunks("n", "w1", 9, "waveform", wave, 0.004, per_chunk=1000, rate=3200)
    assert [p["total"] for p in parts] == [4] * 4
    assert r.add("n", parts[3], 0.0) is None and r.add("n", parts[1], 0.0) is None
    assert r.add("n", parts[1], 0.1) is None and len(r) == 1  # a chunk again: still one capture waiting
    assert r.add("n", parts[0], 0.2) is None
    rec = r.add("n", parts[2], 0.3)
    assert rec["complete"] and rec["id"] == "w1" and rec["seq"] == 9 and rec["kind"] == "waveform" and len(r) == 0
    assert rec["axes"]["x"][0] == round(-1500 * 0.004, 7) and rec["axes"]["x"][-1] == round(1499 * 0.004, 7)
    assert rec["axes"]["y"] == [0.028] * 100 and rec["meta"]["rate"] == 3200 and rec["meta"]["missing"] == []
    # chunks stop coming: expired after the timeout, incomplete, what is missing is named
    spec = synth.capture_chunks("n", 5, 10, "spectrum", {"z": list(range(3000))}, 0.001, per_chunk=1000, df_hz=1.0)
    r.add("n", spec[0], 1.0)
    r.add("n", spec[2], 1.0)
    assert r.expire(5.0) == []
    [(node, rec)] = r.expire(12.0)
    assert node == "n" and not rec["complete"] and rec["meta"]["missing"] == [1]
    z = rec["axes"]["z"]
    assert len(z) == 3000 and z[999] == 0.999 and z[1000] is None and z[2000] == 2.0
    # a corrupt chunk and one beyond the bound: the capture is incomplete with the reasons
    bad = synth.capture_chunks("n", 6, 11, "spectrum", {"x": [1, 2]}, 0.5, df_hz=1.0)[0]
    rec = r.add("n", dict(bad, data="!!not base64!!"), 20.0)
    assert not rec["complete"] and "chunk 0" in rec["meta"]["errors"][0] and rec["axes"] == {}
    rec = r.add("n", dict(bad, id=7, bins=10 ** 9), 20.0)
    assert not rec["complete"] and "over 5000 values" in rec["meta"]["errors"][0]
    # at most max_pending captures in progress: the oldest is given up at the next expire()
    for k, t in ((1, 30.0), (2, 31.0), (3, 32.0)):
        r.add("n", synth.capture_chunks("n", k, k, "spectrum", {"x": [1] * 2000}, 0.5, per_chunk=1000, df_hz=1.0)[0], t)
    given_up = r.expire(32.5)
    assert [rec["id"] for _, rec in given_up] == [1] and len(r) == 2 and r.assembled == 5
