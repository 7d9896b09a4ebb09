# Plain-Python twins of the FFT kernels (fft.py): same names, signatures and integer arithmetic,
# bit-identical results (conventions: features/reference.py).
BIAS = 0x20000000
LIM = 0x400000  # FFT data magnitude limit before each butterfly stage (2**22)


def hann_w(tw, n, i):
    # Q15 periodic Hann weight of sample i of n from the quarter-wave Q16 cosine table:
    # round(2**14 (1 - cos(2 pi i / n))), cos = tw[i] up to n/4, -tw[n/2 - i] up to n/2
    if i > n >> 1:
        i = n - i
    if i <= n >> 2:
        return (65538 - tw[i]) >> 2
    return (65538 + tw[(n >> 1) - i]) >> 2


def hann_load(x, n, mean, r, tw, buf):
    for i in range(n):
        v = (x[i] - mean) * hann_w(tw, n, i)
        if r > 0:
            v = ((v >> (r - 1)) + 1) >> 1
        else:
            v = v << -r
        buf[i] = v + BIAS


def _tw(tw, q, t):
    # (cos, sin) of 2 pi t / (4q) for 0 <= t < 3q from the quarter-wave table
    if t <= q:
        return tw[t], tw[q - t]
    if t <= 2 * q:
        return -tw[2 * q - t], tw[t - q]
    return -tw[t - 2 * q], -tw[3 * q - t]


def _stage_shift(bound):
    # smallest right shift that brings loads of magnitude <= bound to at most LIM (2**22)
    sh = 0
    while (bound >> sh) + 2 > LIM:
        sh += 1
    return sh


def _grow(bound, sh, g):
    # magnitude bound after a stage that loads >> sh and adds g twiddled terms (rounding of the
    # loads and products, and |W| <= 1 + 2**-17, included)
    b = (bound >> sh) + 2
    return g * (b + (b >> 16) + 1)


def cfft(buf, m, tw, tstride, mx, st):
    # bit reversal of m complex points
    j = 0
    for i in range(m - 1):
        if i < j:
            a = 2 * i
            b = 2 * j
            t = buf[a]
            buf[a] = buf[b]
            buf[b] = t
            t = buf[a + 1]
            buf[a + 1] = buf[b + 1]
            buf[b + 1] = t
        k = m >> 1
        while k <= j:
            j -= k
            k >>= 1
        j += k
    m2 = 2 * m
    if mx < 0:  # no known bound: measure the OR-maximum
        mx = 0
        for i in range(m2):
            v = buf[i] - BIAS
            mx |= v ^ (v >> 31)
    # block floating point on a magnitude bound (no per-output maximum): every |z| <= bound,
    # each stage's loads are shifted just enough to stay within LIM
    bound = mx + 1 + ((mx + 2) >> 1)  # >= sqrt(2) * (mx + 1)
    total = 0
    L = 1
    lg = 0
    while (1 << lg) < m:
        lg += 1
    if lg & 1:
        # odd log2(m): one radix-2 stage (W = 1) first
        sh = _stage_shift(bound)
        bound = _grow(bound, sh, 2)
        total += sh
        nb = ((1 << sh) >> 1) - BIAS
        a = 0
        while a < m2:
            ar = (buf[a] + nb) >> sh
            ai = (buf[a + 1] + nb) >> sh
            br = (buf[a + 2] + nb) >> sh
            bi = (buf[a + 3] + nb) >> sh
            buf[a] = ar + br + BIAS
            buf[a + 1] = ai + bi + BIAS
            buf[a + 2] = ar - br + BIAS
            buf[a + 3] = ai - bi + BIAS
            a += 4
        L = 2
    q = (m * tstride) >> 2
    while L < m:
        # radix-4 DIT: blocks B0..B3 of L points at 0, L, 2L, 3L become one transform of 4L:
        # X_k = B0 + W^2k B1 + W^k B2 + W^3k B3 (W = W_4L)
        sh = _stage_shift(bound)
        bound = _grow(bound, sh, 4)
        total += sh
        nb = ((1 << sh) >> 1) - BIAS
        sh5 = 5 + sh
        rr = 1 << (15 + sh)  # rounding half of 2**(5 + sh), at the low part's scale
        step = (m * tstride) // (4 * L)
        o1 = 2 * L
        o2 = 4 * L
        o3 = 6 * L
        for j in range(L):
            t = step * j
            c1, s1 = _tw(tw, q, t)
            c2, s2 = _tw(tw, q, 2 * t)
            c3, s3 = _tw(tw, q, 3 * t)
            a = 2 * j
            while a < m2:
                ar = (buf[a] + nb) >> sh
                ai = (buf[a + 1] + nb) >> sh
                if j:
                    # b, c, d loaded unshifted (|v| <= 2**24.1: the previous stage's outputs);
                    # (x_r + i x_i)(c - i s) / 2**(16 + sh) rounded, with x = xh * 2**11 + xl:
                    # |xh c + xh' s| <= 2**13.1 * 2**16, xl c + xl' s < 2**28
                    br = buf[a + o1] - BIAS
                    bi = buf[a + o1 + 1] - BIAS
                    cr = buf[a + o2] - BIAS
                    ci = buf[a + o2 + 1] - BIAS
                    dr = buf[a + o3] - BIAS
                    di = buf[a + o3 + 1] - BIAS
                    h = br >> 11
                    l = br & 0x7FF
                    g = bi >> 11
                    k = bi & 0x7FF
                    br = (h * c2 + g * s2 + ((l * c2 + k * s2 + rr) >> 11)) >> sh5
                    bi = (g * c2 - h * s2 + ((k * c2 - l * s2 + rr) >> 11)) >> sh5
                    h = cr >> 11
                    l = cr & 0x7FF
                    g = ci >> 11
                    k = ci & 0x7FF
                    cr = (h * c1 + g * s1 + ((l * c1 + k * s1 + rr) >> 11)) >> sh5
                    ci = (g * c1 - h * s1 + ((k * c1 - l * s1 + rr) >> 11)) >> sh5
                    h = dr >> 11
                    l = dr & 0x7FF
                    g = di >> 11
                    k = di & 0x7FF
                    dr = (h * c3 + g * s3 + ((l * c3 + k * s3 + rr) >> 11)) >> sh5
                    di = (g * c3 - h * s3 + ((k * c3 - l * s3 + rr) >> 11)) >> sh5
                else:
                    br = (buf[a + o1] + nb) >> sh
                    bi = (buf[a + o1 + 1] + nb) >> sh
                    cr = (buf[a + o2] + nb) >> sh
                    ci = (buf[a + o2 + 1] + nb) >> sh
                    dr = (buf[a + o3] + nb) >> sh
                    di = (buf[a + o3 + 1] + nb) >> sh
                # t0 = a + b, t1 = a - b (both carrying the bias), t2 = c + d, t3 = c - d
                h = ar + br + BIAS
                l = ai + bi + BIAS
                ar = ar - br + BIAS
                ai = ai - bi + BIAS
                g = cr + dr
                k = ci + di
                cr = cr - dr
                ci = ci - di
                buf[a] = h + g
                buf[a + 1] = l + k
                buf[a + o2] = h - g
                buf[a + o2 + 1] = l - k
                buf[a + o1] = ar + ci
                buf[a + o1 + 1] = ai - cr
                buf[a + o3] = ar - ci
                buf[a + o3 + 1] = ai + cr
                a += 8 * L
        L *= 4
    sh = _stage_shift(bound)
    if sh:
        rnd = (1 << sh) >> 1
        for i in range(m2):
            buf[i] = ((buf[i] - BIAS + rnd) >> sh) + BIAS
        total += sh
    st[0] += total


def rsplit(buf, m, tw, tstride, st):
    zr = buf[0] - BIAS
    zi = buf[1] - BIAS
    v = zr + zi
    mx = v ^ (v >> 31)
    buf[0] = v + BIAS
    v = zr - zi
    mx |= v ^ (v >> 31)
    buf[1] = v + BIAS
    q = (m * tstride) >> 1  # quarter of the table's N (= 2 m tstride)
    for k in range(1, (m >> 1) + 1):
        i = 2 * k
        j = 2 * (m - k)
        zr = buf[i] - BIAS
        zi = buf[i + 1] - BIAS
        yr = buf[j] - BIAS
        yi = buf[j + 1] - BIAS
        er = (zr + yr) >> 1
        ei = (zi - yi) >> 1
        orr = (zr - yr) >> 1
        oi = (zi + yi) >> 1
        t = tstride * k
        c = tw[t]
        s = tw[q - t]
        oh = orr >> 11
        ol = orr & 0x7FF
        ih = oi >> 11
        il = oi & 0x7FF
        p = (c * ih - s * oh + ((c * il - s * ol + 32768) >> 11)) >> 5
        r = (c * oh + s * ih + ((c * ol + s * il + 32768) >> 11)) >> 5
        v = er + p
        mx |= v ^ (v >> 31)
        buf[i] = v + BIAS
        v = ei - r
        mx |= v ^ (v >> 31)
        buf[i + 1] = v + BIAS
        v = er - p
        mx |= v ^ (v >> 31)
        buf[j] = v + BIAS
        v = -ei - r
        mx |= v ^ (v >> 31)
        buf[j + 1] = v + BIAS
    st[1] = mx


def absmax(buf, i0, i1):
    mx = 0
    for i in range(i0, i1):
        v = buf[i] - BIAS
        mx |= v ^ (v >> 31)
    return mx
