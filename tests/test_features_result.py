"""FeatureEngine.result(): the telemetry dict is built with few allocations, and its numbers are
exactly those of the plain float formulas applied to the engine's integer state.

On the unix port, for varied windows (noise + sines, DC only, impulses, clipped, all-zero,
full-scale) and configurations (bearing + rpm auto + top-5, fixed rpm + custom bands + HF band,
defaults at n = 512, the plain-Python kernels), the test recomputes every telemetry value from
the engine's integer slots (td, pk, bs, vs, ex, ev) with the straightforward float expressions
(term-by-term sums in doubles, both neighbour roots, repr()-based rounding, the dict built the
same way) and requires json.dumps of result() to be byte-identical. The public helpers
(time_domain, peaks, bands_rms, hf_rms, velocity_rms) are compared exactly with the same
recomputation. Then result() must allocate at most 12 KB per axis on the bench configuration
(gc.mem_alloc under gc.disable(); it allocated 13.7 KB per axis before the rewrite)."""
import json

from conftest import mpy_case


ALLOC_BOUND = 12 * 1024  # bytes per axis (13.7 KB before; 10.4 KB after the rewrite, x64 unix port)


def test_result_matches_plain_recomputation_and_allocates_less():
    r = mpy_case("feature_result", "result_exact", timeout=300)
    assert r["cases"] == 4 * 6 * 3
    assert not r["diff"], json.dumps(r["diff"][:5], indent=1)
    assert 0 < r["alloc"] <= ALLOC_BOUND, r["alloc"]
