# Plain-Python twins of the viper kernels, one module per kernel family (timedomain_ref.py,
# fft_ref.py, spectrum_ref.py, envelope_ref.py for timedomain.py, fft.py, spectrum.py,
# envelope.py), gathered here: same names, same signatures, same integer arithmetic,
# bit-identical results. Used by the tests
# as the reference (tests/test_features_kernels.py compares every kernel) and by the node as the
# fallback where the compiled modules cannot load (wrong arch, older MicroPython).
#
# Conventions shared with the viper kernels:
#   - sample windows are array('h') (chip counts);
#   - the FFT work buffer is array('i') holding v + BIAS (BIAS = 2**29) so that viper's ptr32
#     loads, which zero-extend on x64 and sign-extend on 32-bit chips, read the same non-negative
#     word on every architecture; every stored |v| is below 2**17;
#   - power spectra are array('i') of non-negative values below 2**31;
#   - twiddles are a quarter-wave table array('i') of N/4+1 values round(2**16 cos(2 pi k/N)),
#     all non-negative (W_N^k = cos - i*sin, sin read from the mirrored index); the periodic Hann
#     window (Q15) is derived from the same table (hann_w), there is no window table.
# Every intermediate stays inside int32 (bounds are written beside each kernel; the test
# tests/test_features_int32.py runs these twins with every arithmetic result checked).
from features.timedomain_ref import *  # noqa: F401,F403
from features.fft_ref import *  # noqa: F401,F403
from features.spectrum_ref import *  # noqa: F401,F403
from features.envelope_ref import *  # noqa: F401,F403
