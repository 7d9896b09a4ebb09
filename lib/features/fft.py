# Fixed-point FFT kernels (viper) with block floating point.
#
# Real FFT of N samples = complex FFT of N/2 points on the packed sequence x[2j] + i x[2j+1]
# (cfft) followed by the split into the N/2+1 bins of the real transform (rsplit).
# cfft: bit reversal, then radix-4 DIT stages (one radix-2 stage first when log2 m is odd).
# Block floating point on a magnitude bound instead of a measured maximum: the bound grows by
# the stage's gain (2 or 4, plus rounding), and each stage's loads are shifted just enough to
# keep it within LIM; so no stage tracks its outputs (on white noise the result stays ~90 dB
# below the largest bin; tests/test_features_kernels.py checks >= 85 dB at every size).
# Storage: array('i') holding v + BIAS (BIAS = 2**29): viper's ptr32 loads zero-extend on x64 and
# sign-extend on 32-bit chips, so only non-negative words are ever stored.
# Speed (viper): loads and stores go through ptr32(address) at constant offsets, which compile
# to one instruction, where ptr32[variable index] costs an index computation each time.
#
# 32-bit bounds (|v| is the magnitude of a real or imaginary part, |z| of a complex value):
#   hann_load: |x - mean| <= 65535, Hann Q15 <= 32768: product < 2**31; stored |v| < 2**22
#   cfft: loads of a stage are shifted so that |z| <= LIM = 2**22; twiddles are Q16
#     (|W| <= 2**16 (1 + 2**-16)). The twiddled inputs are loaded unshifted (the previous
#     stage's outputs, |v| <= 4 LIM (1 + 2**-15) < 2**24.01: the first stage that multiplies
#     always follows a stage) and split as b = bh * 2**11 + bl (0 <= bl < 2**11):
#     |bh c + bh' s| <= (2**13.01 + 2) * 2**16 < 2**29.1, |bl c + bl' s| < 2**27.5; the sum is
#     shifted by 16 + sh with rounding. Outputs |v| < 2**24.1, stored below 2**29 + 2**24.1.
#     After the last stage the data are shifted to |z| <= LIM for rsplit.
#   rsplit: input |v| <= 2**22, E, O = (Z_k +- conj Z_{m-k}) / 2 have |.| <= 2**22, split
#     products as in cfft, outputs |E +- W O| < 2**23.
# Rounding: every shift rounds to nearest (adds half before >>).
import micropython
from micropython import const

BIAS = const(0x20000000)
LIM = const(0x400000)


@micropython.viper
def hann_load(x, n: int, mean: int, r: int, tw, buf):
    """buf[i] = round((x[i] - mean) * w_i / 2**r) + BIAS (r < 0: left shift), w_i the periodic
    Hann window in Q15 from the quarter-wave Q16 cosine table: (2**16 + 2 - c) >> 2 with cos = c,
    c = tw[i], -tw[n/2 - i], -tw[i - n/2], tw[n - i] by quarter. In order of i, buf[i] written after
    x[i] is read: x may be buf's own upper half (FeatureEngine.upper: the samples i, i + 1 that
    buf[i] covers there were read before), so a node needs no separate array for them."""
    nl = 0
    rnd = 0
    if r > 0:
        rnd = 1 << (r - 1)
    else:
        nl = 0 - r
        r = 0
    mb = mean + 0x8000
    px = ptr16(x)
    pb = ptr32(buf)
    pt = ptr32(tw)
    h = n >> 1
    q = n >> 2
    i = 0
    while i <= q:  # (w_0 = 0: tw[0] = 2**16; w_q = 2**14: tw[q] = 0)
        w = (65538 - pt[i]) >> 2
        pb[i] = (((((px[i] ^ 0x8000) - mb) * w << nl) + rnd) >> r) + BIAS
        i += 1
    while i < h:
        w = (65538 + pt[h - i]) >> 2
        pb[i] = (((((px[i] ^ 0x8000) - mb) * w << nl) + rnd) >> r) + BIAS
        i += 1
    while i <= h + q:  # (w_h = 2**15)
        w = (65538 + pt[i - h]) >> 2
        pb[i] = (((((px[i] ^ 0x8000) - mb) * w << nl) + rnd) >> r) + BIAS
        i += 1
    while i < n:
        w = (65538 - pt[n - i]) >> 2
        pb[i] = (((((px[i] ^ 0x8000) - mb) * w << nl) + rnd) >> r) + BIAS
        i += 1


@micropython.viper
def cfft(buf, m: int, tw, tstride: int, mx: int, st):
    """In-place forward complex FFT of m points (interleaved re, im; W = cos - i sin): radix-4
    DIT stages, after one radix-2 stage when log2(m) is odd. Twiddles W_m^j = W_N^(j * tstride)
    from the quarter-wave table of N = m * tstride. Block floating point on a magnitude bound:
    each stage's loads are shifted so that the bound stays within LIM. Adds the number of
    right shifts to st[0]. mx: a known bound on every |re|, |im| (e.g. hann_load's 2**22), or
    -1 to measure it."""
    pb = ptr32(buf)
    ps = ptr32(st)
    _bitrev(buf, m)
    a = int(pb)
    end = a + 8 * m
    if mx < 0:
        mx = 0
        while a < end:
            p = ptr32(a)
            v = p[0] - BIAS
            mx |= v ^ (v >> 31)
            v = p[1] - BIAS
            mx |= v ^ (v >> 31)
            a += 8
    bound = mx + 1 + ((mx + 2) >> 1)
    total = 0
    L = 1
    lg = 0
    while (1 << lg) < m:
        lg += 1
    if lg & 1:
        sh = 0
        while (bound >> sh) + 2 > LIM:
            sh += 1
        b = (bound >> sh) + 2
        bound = 2 * (b + (b >> 16) + 1)
        total += sh
        nb = ((1 << sh) >> 1) - BIAS
        a = int(pb)
        while a < end:
            p = ptr32(a)
            ar = (p[0] + nb) >> sh
            ai = (p[1] + nb) >> sh
            br = (p[2] + nb) >> sh
            bi = (p[3] + nb) >> sh
            p[0] = ar + br + BIAS
            p[1] = ai + bi + BIAS
            p[2] = ar - br + BIAS
            p[3] = ai - bi + BIAS
            a += 16
        L = 2
    while L < m:
        sh = 0
        while (bound >> sh) + 2 > LIM:
            sh += 1
        b = (bound >> sh) + 2
        bound = 4 * (b + (b >> 16) + 1)
        total += sh
        _r4(sh, ((1 << sh) >> 1) - BIAS, 0, buf, m, L, tw, tstride)
        L <<= 2
    sh = 0
    while (bound >> sh) + 2 > LIM:
        sh += 1
    if sh:
        rnd = (1 << sh) >> 1
        for i in range(2 * m):
            pb[i] = ((pb[i] - BIAS + rnd) >> sh) + BIAS
        total += sh
    ps[0] = ps[0] + total


@micropython.viper
def _bitrev(buf, m: int):
    # bit-reversal permutation of m complex points, four indices per step: for i a multiple of
    # 4 with reverse j, i+1, i+2, i+3 reverse to j + m/2, j + m/4, j + 3m/4
    if m < 4:
        return
    base = int(ptr32(buf))
    h = m >> 1
    q4 = m >> 2
    i = 0
    j = 0
    while True:
        if i < j:
            pa = ptr32(base + 8 * i)
            pc = ptr32(base + 8 * j)
            t = pa[0]
            pa[0] = pc[0]
            pc[0] = t
            t = pa[1]
            pa[1] = pc[1]
            pc[1] = t
        b = j + h
        if i + 1 < b:
            pa = ptr32(base + 8 * (i + 1))
            pc = ptr32(base + 8 * b)
            t = pa[0]
            pa[0] = pc[0]
            pc[0] = t
            t = pa[1]
            pa[1] = pc[1]
            pc[1] = t
        b = j + q4
        if i + 2 < b:
            pa = ptr32(base + 8 * (i + 2))
            pc = ptr32(base + 8 * b)
            t = pa[0]
            pa[0] = pc[0]
            pc[0] = t
            t = pa[1]
            pa[1] = pc[1]
            pc[1] = t
        b = j + h + q4
        if i + 3 < b:
            pa = ptr32(base + 8 * (i + 3))
            pc = ptr32(base + 8 * b)
            t = pa[0]
            pa[0] = pc[0]
            pc[0] = t
            t = pa[1]
            pa[1] = pc[1]
            pc[1] = t
        i += 4
        if i >= m:
            break
        k = m >> 3
        while k <= j:
            j -= k
            k >>= 1
        j += k


@micropython.viper
def _r4(sh: int, nb: int, h: int, buf, m: int, L: int, tw, tstride: int):
    # one radix-4 stage: 4 transforms of L points into one of 4L (blocks B0..B3 at offsets 0, L,
    # 2L, 3L points; X_k = B0 + W^2k B1 + W^k B2 + W^3k B3, W = W_4L). Loads are (v + nb) >> sh,
    # nb = rounding - BIAS. Loads and stores go through pointers at constant offsets (cheap in
    # viper); sh, nb and h come first: viper keeps its first locals in machine registers.
    pt = ptr32(tw)
    q = (m * tstride) >> 2
    step = (m * tstride) // (4 * L)
    o1 = 8 * L  # byte offsets of B1, B2, B3
    o2 = 16 * L
    o3 = 24 * L
    inc = 32 * L
    sh5 = 5 + sh
    rr = 1 << (15 + sh)
    base = int(ptr32(buf))
    end = base + 8 * m
    # j = 0: W = 1, no multiplications (the general formula gives the same values)
    a = base
    while a < end:
        p0 = ptr32(a)
        p1 = ptr32(a + o1)
        p2 = ptr32(a + o2)
        p3 = ptr32(a + o3)
        ar = (p0[0] + nb) >> sh
        ai = (p0[1] + nb) >> sh
        br = (p1[0] + nb) >> sh
        bi = (p1[1] + nb) >> sh
        cr = (p2[0] + nb) >> sh
        ci = (p2[1] + nb) >> sh
        dr = (p3[0] + nb) >> sh
        di = (p3[1] + nb) >> sh
        h = ar + br + BIAS
        l = ai + bi + BIAS
        ar = ar - br + BIAS
        ai = ai - bi + BIAS
        g = cr + dr
        k = ci + di
        cr = cr - dr
        ci = ci - di
        p0[0] = h + g
        p0[1] = l + k
        p2[0] = h - g
        p2[1] = l - k
        p1[0] = ar + ci
        p1[1] = ai - cr
        p3[0] = ar - ci
        p3[1] = ai + cr
        a += inc
    j = 1
    while j < L:
        t = step * j
        c1 = pt[t]
        s1 = pt[q - t]
        t = t + t
        if t <= q:
            c2 = pt[t]
            s2 = pt[q - t]
        else:
            c2 = 0 - pt[2 * q - t]
            s2 = pt[t - q]
        t = step * j * 3
        if t <= q:
            c3 = pt[t]
            s3 = pt[q - t]
        elif t <= 2 * q:
            c3 = 0 - pt[2 * q - t]
            s3 = pt[t - q]
        else:
            c3 = 0 - pt[t - 2 * q]
            s3 = 0 - pt[3 * q - t]
        a = base + 8 * j
        while a < end:
            p0 = ptr32(a)
            p1 = ptr32(a + o1)
            p2 = ptr32(a + o2)
            p3 = ptr32(a + o3)
            ar = (p0[0] + nb) >> sh
            ai = (p0[1] + nb) >> sh
            # b, c, d unshifted (|v| <= 2**24.1, the previous stage's outputs): (x_r + i x_i)
            # (c - i s) / 2**(16 + sh) rounded, x = xh * 2**11 + xl: |xh c + xh' s| <= 2**29.1,
            # xl c + xl' s < 2**28
            br = p1[0] - BIAS
            bi = p1[1] - BIAS
            h = br >> 11
            l = br & 0x7FF
            g = bi >> 11
            k = bi & 0x7FF
            br = (h * c2 + g * s2 + ((l * c2 + k * s2 + rr) >> 11)) >> sh5
            bi = (g * c2 - h * s2 + ((k * c2 - l * s2 + rr) >> 11)) >> sh5
            cr = p2[0] - BIAS
            ci = p2[1] - BIAS
            h = cr >> 11
            l = cr & 0x7FF
            g = ci >> 11
            k = ci & 0x7FF
            cr = (h * c1 + g * s1 + ((l * c1 + k * s1 + rr) >> 11)) >> sh5
            ci = (g * c1 - h * s1 + ((k * c1 - l * s1 + rr) >> 11)) >> sh5
            dr = p3[0] - BIAS
            di = p3[1] - BIAS
            h = dr >> 11
            l = dr & 0x7FF
            g = di >> 11
            k = di & 0x7FF
            dr = (h * c3 + g * s3 + ((l * c3 + k * s3 + rr) >> 11)) >> sh5
            di = (g * c3 - h * s3 + ((k * c3 - l * s3 + rr) >> 11)) >> sh5
            h = ar + br + BIAS
            l = ai + bi + BIAS
            ar = ar - br + BIAS
            ai = ai - bi + BIAS
            g = cr + dr
            k = ci + di
            cr = cr - dr
            ci = ci - di
            p0[0] = h + g
            p0[1] = l + k
            p2[0] = h - g
            p2[1] = l - k
            p1[0] = ar + ci
            p1[1] = ai - cr
            p3[0] = ar - ci
            p3[1] = ai + cr
            a += inc
        j += 1


@micropython.viper
def rsplit(buf, m: int, tw, tstride: int, st):
    """Bins 0..m of the real FFT of 2m samples from the m-point complex FFT of the packed
    sequence (in place): X_0 real in buf[0], X_m real in buf[1], X_k in buf[2k], buf[2k+1].
    W_2m^k = W_N^(k * tstride), N = 2 m tstride. st[1] = OR-maximum of the outputs."""
    pb = ptr32(buf)
    ps = ptr32(st)
    zr = pb[0] - BIAS
    zi = pb[1] - BIAS
    v = zr + zi
    mx = v ^ (v >> 31)
    pb[0] = v + BIAS
    v = zr - zi
    mx |= v ^ (v >> 31)
    pb[1] = v + BIAS
    q = (m * tstride) >> 1
    tb = int(ptr32(tw))
    ac = tb + 4 * tstride  # cos at t = k tstride, sin at q - t
    asn = tb + 4 * (q - tstride)
    ts = 4 * tstride
    ai = int(pb) + 8
    aj = int(pb) + 8 * (m - 1)
    while ai <= aj:
        pi = ptr32(ai)
        pj = ptr32(aj)
        zr = pi[0] - BIAS
        zi = pi[1] - BIAS
        yr = pj[0] - BIAS
        yi = pj[1] - BIAS
        er = (zr + yr) >> 1
        ei = (zi - yi) >> 1
        orr = (zr - yr) >> 1
        oi = (zi + yi) >> 1
        c = ptr32(ac)[0]
        s = ptr32(asn)[0]
        oh = orr >> 11
        ol = orr & 0x7FF
        ih = oi >> 11
        il = oi & 0x7FF
        p = (c * ih - s * oh + ((c * il - s * ol + 32768) >> 11)) >> 5
        r = (c * oh + s * ih + ((c * ol + s * il + 32768) >> 11)) >> 5
        v = er + p
        mx |= v ^ (v >> 31)
        pi[0] = v + BIAS
        v = ei - r
        mx |= v ^ (v >> 31)
        pi[1] = v + BIAS
        v = er - p
        mx |= v ^ (v >> 31)
        pj[0] = v + BIAS
        v = 0 - ei - r
        mx |= v ^ (v >> 31)
        pj[1] = v + BIAS
        ai += 8
        aj -= 8
        ac += ts
        asn -= ts
    ps[1] = mx


@micropython.viper
def absmax(buf, i0: int, i1: int) -> int:
    """OR-maximum (>= |v| - 1) of the biased words buf[i0:i1]."""
    mx = 0
    a = int(ptr32(buf)) + 4 * i0
    end = int(ptr32(buf)) + 4 * i1
    while a < end:
        v = ptr32(a)[0] - BIAS
        mx |= v ^ (v >> 31)
        a += 4
    return mx
