# Envelope kernels (viper): band-pass in the frequency domain, Hilbert magnitude, decimation by
# a band-limited FFT, and the preparation of the envelope for its own spectrum.
#
#   band_copy: bins k0..k1-1 of the (Hann-windowed) spectrum moved to 0..k1-k0-1 (frequency
#     shift: the magnitude of the analytic signal does not change), scaled by 2**s so that the
#     band's largest part is just below 2**22, zero-padded to mm complex points
#   (cfft, mm points: the analytic band-pass signal at mm points per window, i.e. decimated by
#     N / mm, time-reversed: the forward FFT of the band is the inverse one at -n, and |z| and
#     its spectrum's magnitudes are the same)
#   env_mag: e_i = |z_i| in place (packed at index i: the packing the real FFT wants)
#   env_prep: e_i - ebar * w_i, removing the window-weighted mean (the envelope carries the Hann
#     window from the time domain, so its DC is ebar * w; w from the cosine table, as in hann_load)
# 32-bit bounds: band_copy output <= 2**22; env_mag components shifted to <= 32767 (sum of
# squares < 2**31), e <= 46341; ebar * w <= 46341 * 32768 < 2**31.
import micropython
from micropython import const

BIAS = const(0x20000000)


@micropython.viper
def band_copy(buf, k0: int, k1: int, mm: int, s: int):
    a = int(ptr32(buf))
    src = a + 8 * k0
    end = a + 8 * (k1 - k0)
    if s >= 0:
        while a < end:
            ptr32(a)[0] = ((ptr32(src)[0] - BIAS) << s) + BIAS
            a += 4
            src += 4
    else:
        r = 0 - s
        nb = ((1 << r) >> 1) - BIAS
        while a < end:
            ptr32(a)[0] = ((ptr32(src)[0] + nb) >> r) + BIAS
            a += 4
            src += 4
    end = int(ptr32(buf)) + 8 * mm
    while a < end:
        ptr32(a)[0] = BIAS
        a += 4


@micropython.viper
def env_mag(buf, mm: int, sh: int, out):
    """buf[i] = isqrt(re_i**2 + im_i**2) + BIAS (components rounded >> sh); out[0] = sum,
    out[1] = max. floor(sqrt(v)) by two Newton steps from max + min/2 (>= sqrt(v), at most 6 %
    above: the error after two steps is below 2e-6 * 46341 < 1) and one final correction."""
    o = ptr32(out)
    nb = ((1 << sh) >> 1) - BIAS
    s = 0
    mx = 0
    src = int(ptr32(buf))
    dst = src
    end = src + 8 * mm
    while src < end:
        p = ptr32(src)
        a = (p[0] + nb) >> sh
        b = (p[1] + nb) >> sh
        v = a * a + b * b
        if a < 0:
            a = 0 - a
        if b < 0:
            b = 0 - b
        if a < b:
            r = b + (a >> 1)
        else:
            r = a + (b >> 1)
        if r:
            r = (r + v // r) >> 1
            r = (r + v // r) >> 1
            if r > v // r:
                r -= 1
        ptr32(dst)[0] = r + BIAS
        s += r
        if r > mx:
            mx = r
        src += 8
        dst += 4
    o[0] = s
    o[1] = mx


@micropython.viper
def env_prep(buf, mm: int, tw, wstride: int, ebar: int, sh: int):
    """buf[i] = (e_i - round(ebar * w_i)) >> sh with w_i the Q15 Hann weight of sample i * wstride
    of N = mm * wstride, derived from N's quarter-wave cosine table as in fft.hann_load: for
    j <= mm/4, c = tw[j * wstride] serves i = j, mm - j (w = (2**16 + 2 - c) >> 2) and
    mm/2 - j, mm/2 + j (w = (2**16 + 2 + c) >> 2)."""
    rnd = (1 << sh) >> 1
    pb = ptr32(buf)
    pt = ptr32(tw)
    h = mm >> 1
    q = mm >> 2
    j = 0
    while j <= q:
        c = pt[j * wstride]
        w = (65538 - c) >> 2
        i = j
        v = pb[i] - BIAS - ((ebar * w + 16384) >> 15)
        pb[i] = ((v + rnd) >> sh) + BIAS
        if j != 0 and j != q:
            i = mm - j
            v = pb[i] - BIAS - ((ebar * w + 16384) >> 15)
            pb[i] = ((v + rnd) >> sh) + BIAS
        if j != q:
            w = (65538 + c) >> 2
            i = h - j
            v = pb[i] - BIAS - ((ebar * w + 16384) >> 15)
            pb[i] = ((v + rnd) >> sh) + BIAS
            if j != 0:
                i = h + j
                v = pb[i] - BIAS - ((ebar * w + 16384) >> 15)
                pb[i] = ((v + rnd) >> sh) + BIAS
        else:
            i = mm - j  # j = mm/4: cos = 0, i = 3 mm/4
            v = pb[i] - BIAS - ((ebar * w + 16384) >> 15)
            pb[i] = ((v + rnd) >> sh) + BIAS
        j += 1
