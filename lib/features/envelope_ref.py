# Plain-Python twins of the envelope kernels (envelope.py): same names, signatures and integer
# arithmetic, bit-identical results (conventions: features/reference.py).
from features.fft_ref import BIAS, hann_w
from features.spectrum_ref import isqrt


def band_copy(buf, k0, k1, mm, s):
    nb = k1 - k0
    src = 2 * k0
    if s >= 0:
        for i in range(2 * nb):
            buf[i] = ((buf[src + i] - BIAS) << s) + BIAS
    else:
        r = -s
        rnd = (1 << r) >> 1
        for i in range(2 * nb):
            buf[i] = ((buf[src + i] - BIAS + rnd) >> r) + BIAS
    for i in range(2 * nb, 2 * mm):
        buf[i] = BIAS


def env_mag(buf, mm, sh, out):
    rnd = (1 << sh) >> 1
    s = 0
    mx = 0
    for i in range(mm):
        a = (buf[2 * i] - BIAS + rnd) >> sh
        b = (buf[2 * i + 1] - BIAS + rnd) >> sh
        e = isqrt(a * a + b * b)
        buf[i] = e + BIAS
        s += e
        if e > mx:
            mx = e
    out[0] = s
    out[1] = mx


def env_prep(buf, mm, tw, wstride, ebar, sh):
    rnd = (1 << sh) >> 1
    for i in range(mm):
        w = hann_w(tw, mm * wstride, i * wstride)
        v = buf[i] - BIAS - ((ebar * w + 16384) >> 15)
        buf[i] = ((v + rnd) >> sh) + BIAS
