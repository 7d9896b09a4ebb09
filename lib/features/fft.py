# Fixed-point FFT kernels (viper) with block floating point.
#
# Real FFT of N samples = complex FFT of N/2 points on the packed sequence x[2j] + i x[2j+1]
# (cfft) followed by the split into the N/2+1 bins of the real transform (rsplit).
# Storage: array('i') holding v + BIAS (BIAS = 2**29): viper's ptr32 loads zero-extend on x64 and
# sign-extend on 32-bit chips, so only non-negative words are ever stored.
#
# 32-bit bounds (|v| is the magnitude of a real or imaginary part):
#   hann_load: |x - mean| <= 65535, Hann Q15 <= 32767: product < 2**31; stored |v| <= 2**22
#   cfft: before each stage every |v| <= 2**22 (LIM; the block exponent absorbs the shifts:
#     a stage with any output outside [-LIM, LIM) makes the next stage's loads shift by 2).
#     b * w with the Q18 twiddle (<= 2**18) is split as b = bh * 2**11 + bl (|bh| <= 2**11,
#     0 <= bl < 2**11): bh*c + bh'*s <= sqrt(2) * 2**29, bl*c + bl'*s < 2**30; outputs
#     |a +- b w| <= 2**22 (1 + sqrt(2)) < 2**23.3, stored below 2**29.
#   rsplit: its input is cfft's output (|v| <= 2**22 after cfft's final shift), so
#     E, O = (Z_k +- conj Z_{m-k}) / 2 have |.| <= 2**22, the split products are as in cfft and
#     the outputs |E +- W O| stay below 2**23.3.
# Rounding: every shift rounds to nearest (adds half before >>), products round at 2**-18.
import micropython
from micropython import const

BIAS = const(0x20000000)
LIM = const(0x400000)
CHK = const(0x1FC00000)  # BIAS - LIM: (v + BIAS) - CHK = v + LIM is in [0, 2**23) iff -LIM <= v < LIM


@micropython.viper
def hann_load(x, n: int, mean: int, r: int, win, buf):
    """buf[i] = round((x[i] - mean) * hann[i] / 2**r) + BIAS (r may be negative: left shift)."""
    px = ptr16(x)
    pw = ptr16(win)
    pb = ptr32(buf)
    h = n >> 1
    r1 = r - 1
    nr = 0 - r
    for i in range(n):
        if i <= h:
            w = pw[i]
        else:
            w = pw[n - i]
        v = (((px[i] ^ 0x8000) - 0x8000) - mean) * w
        if r > 0:
            v = ((v >> r1) + 1) >> 1
        else:
            v = v << nr
        pb[i] = v + BIAS


@micropython.viper
def cfft(buf, m: int, tw, tstride: int, inv: int, st):
    """In-place radix-2 DIT complex FFT of m points (interleaved re, im), forward (inv = 0, W =
    cos - i sin) or inverse without 1/m (inv = 1). Twiddles W_m^j = W_N^(j * tstride) from the
    quarter-wave table of N = m * tstride. Adds the number of right shifts to st[0]."""
    _cfft(buf, 0, 0, m, tw, tstride, inv, st)


@micropython.viper
def _cfft(pb: ptr32, a: int, v: int, m: int, tw, tstride: int, inv: int, st):
    # pb, a and v come first: viper keeps its first locals (the parameters) in machine
    # registers, and these three are the butterfly loop's busiest
    pt = ptr32(tw)
    ps = ptr32(st)
    j = 0
    i = 0
    while i < m - 1:
        if i < j:
            a = 2 * i
            b = 2 * j
            t = pb[a]
            pb[a] = pb[b]
            pb[b] = t
            t = pb[a + 1]
            pb[a + 1] = pb[b + 1]
            pb[b + 1] = t
        k = m >> 1
        while k <= j:
            j -= k
            k >>= 1
        j += k
        i += 1
    mx = 0
    m2 = 2 * m
    for i in range(m2):
        v = pb[i] - BIAS
        mx |= v ^ (v >> 31)
    sh = 0
    while (mx >> sh) >= LIM:
        sh += 1
    q = (m * tstride) >> 2
    total = 0
    ln = 2
    step = tstride * (m >> 1)
    while ln <= m:
        half = ln >> 1
        rnd = (1 << sh) >> 1
        total += sh
        chk = 0
        ln2 = 2 * ln
        jj = 0
        while jj < half:
            t = step * jj
            if t <= q:
                c = pt[t]
                s = pt[q - t]
            else:
                c = 0 - pt[2 * q - t]
                s = pt[t - q]
            if inv:
                s = 0 - s
            a = 2 * jj
            # W = 1 (t = 0) and W = -i / +i (t = N/4) need no multiplication; the general
            # formula gives exactly the same values there (c, s = 0, +-2**18)
            if t == 0:
                if sh:
                    while a < m2:
                        b = a + ln
                        ar = (pb[a] - BIAS + rnd) >> sh
                        ai = (pb[a + 1] - BIAS + rnd) >> sh
                        br = (pb[b] - BIAS + rnd) >> sh
                        bi = (pb[b + 1] - BIAS + rnd) >> sh
                        tr = br
                        ti = bi
                        v = ar + tr + BIAS
                        chk |= v - CHK
                        pb[a] = v
                        v = ai + ti + BIAS
                        chk |= v - CHK
                        pb[a + 1] = v
                        v = ar - tr + BIAS
                        chk |= v - CHK
                        pb[b] = v
                        v = ai - ti + BIAS
                        chk |= v - CHK
                        pb[b + 1] = v
                        a += ln2
                else:
                    while a < m2:
                        b = a + ln
                        ar = pb[a]
                        ai = pb[a + 1]
                        br = pb[b] - BIAS
                        bi = pb[b + 1] - BIAS
                        tr = br
                        ti = bi
                        v = ar + tr
                        chk |= v - CHK
                        pb[a] = v
                        v = ai + ti
                        chk |= v - CHK
                        pb[a + 1] = v
                        v = ar - tr
                        chk |= v - CHK
                        pb[b] = v
                        v = ai - ti
                        chk |= v - CHK
                        pb[b + 1] = v
                        a += ln2
            elif t == q:
                r = 1
                if inv:
                    r = -1
                if sh:
                    while a < m2:
                        b = a + ln
                        ar = (pb[a] - BIAS + rnd) >> sh
                        ai = (pb[a + 1] - BIAS + rnd) >> sh
                        br = (pb[b] - BIAS + rnd) >> sh
                        bi = (pb[b + 1] - BIAS + rnd) >> sh
                        tr = bi * r
                        ti = 0 - br * r
                        v = ar + tr + BIAS
                        chk |= v - CHK
                        pb[a] = v
                        v = ai + ti + BIAS
                        chk |= v - CHK
                        pb[a + 1] = v
                        v = ar - tr + BIAS
                        chk |= v - CHK
                        pb[b] = v
                        v = ai - ti + BIAS
                        chk |= v - CHK
                        pb[b + 1] = v
                        a += ln2
                else:
                    while a < m2:
                        b = a + ln
                        ar = pb[a]
                        ai = pb[a + 1]
                        br = pb[b] - BIAS
                        bi = pb[b + 1] - BIAS
                        tr = bi * r
                        ti = 0 - br * r
                        v = ar + tr
                        chk |= v - CHK
                        pb[a] = v
                        v = ai + ti
                        chk |= v - CHK
                        pb[a + 1] = v
                        v = ar - tr
                        chk |= v - CHK
                        pb[b] = v
                        v = ai - ti
                        chk |= v - CHK
                        pb[b + 1] = v
                        a += ln2
            elif sh:
                while a < m2:
                    b = a + ln
                    ar = (pb[a] - BIAS + rnd) >> sh
                    ai = (pb[a + 1] - BIAS + rnd) >> sh
                    br = (pb[b] - BIAS + rnd) >> sh
                    bi = (pb[b + 1] - BIAS + rnd) >> sh
                    brh = br >> 11
                    brl = br & 0x7FF
                    bih = bi >> 11
                    bil = bi & 0x7FF
                    tr = (brh * c + bih * s + ((brl * c + bil * s + 1024) >> 11) + 64) >> 7
                    ti = (bih * c - brh * s + ((bil * c - brl * s + 1024) >> 11) + 64) >> 7
                    v = ar + tr + BIAS
                    chk |= v - CHK
                    pb[a] = v
                    v = ai + ti + BIAS
                    chk |= v - CHK
                    pb[a + 1] = v
                    v = ar - tr + BIAS
                    chk |= v - CHK
                    pb[b] = v
                    v = ai - ti + BIAS
                    chk |= v - CHK
                    pb[b + 1] = v
                    a += ln2
            else:
                while a < m2:
                    b = a + ln
                    ar = pb[a]
                    ai = pb[a + 1]
                    br = pb[b] - BIAS
                    bi = pb[b + 1] - BIAS
                    brh = br >> 11
                    brl = br & 0x7FF
                    bih = bi >> 11
                    bil = bi & 0x7FF
                    tr = (brh * c + bih * s + ((brl * c + bil * s + 1024) >> 11) + 64) >> 7
                    ti = (bih * c - brh * s + ((bil * c - brl * s + 1024) >> 11) + 64) >> 7
                    v = ar + tr
                    chk |= v - CHK
                    pb[a] = v
                    v = ai + ti
                    chk |= v - CHK
                    pb[a + 1] = v
                    v = ar - tr
                    chk |= v - CHK
                    pb[b] = v
                    v = ai - ti
                    chk |= v - CHK
                    pb[b + 1] = v
                    a += ln2
            jj += 1
        # any output outside [-LIM, LIM): the next stage's loads shift by 2 (outputs of a
        # stage whose inputs were within LIM are below LIM * (1 + sqrt(2)) < 4 LIM)
        sh = 0
        if chk >> 23:
            sh = 2
        ln <<= 1
        step >>= 1
    if sh:
        rnd = (1 << sh) >> 1
        for i in range(m2):
            pb[i] = ((pb[i] - BIAS + rnd) >> sh) + BIAS
        total += sh
    ps[0] = ps[0] + total


@micropython.viper
def rsplit(buf, m: int, tw, tstride: int, st):
    """Bins 0..m of the real FFT of 2m samples from the m-point complex FFT of the packed
    sequence (in place): X_0 real in buf[0], X_m real in buf[1], X_k in buf[2k], buf[2k+1].
    W_2m^k = W_N^(k * tstride), N = 2 m tstride. st[1] = OR-maximum of the outputs."""
    pb = ptr32(buf)
    pt = ptr32(tw)
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
    kend = (m >> 1) + 1
    k = 1
    while k < kend:
        i = 2 * k
        j = 2 * (m - k)
        zr = pb[i] - BIAS
        zi = pb[i + 1] - BIAS
        yr = pb[j] - BIAS
        yi = pb[j + 1] - BIAS
        er = (zr + yr) >> 1
        ei = (zi - yi) >> 1
        orr = (zr - yr) >> 1
        oi = (zi + yi) >> 1
        t = tstride * k
        c = pt[t]
        s = pt[q - t]
        oh = orr >> 11
        ol = orr & 0x7FF
        ih = oi >> 11
        il = oi & 0x7FF
        p = (c * ih - s * oh + ((c * il - s * ol + 1024) >> 11) + 64) >> 7
        r = (c * oh + s * ih + ((c * ol + s * il + 1024) >> 11) + 64) >> 7
        v = er + p
        mx |= v ^ (v >> 31)
        pb[i] = v + BIAS
        v = ei - r
        mx |= v ^ (v >> 31)
        pb[i + 1] = v + BIAS
        v = er - p
        mx |= v ^ (v >> 31)
        pb[j] = v + BIAS
        v = 0 - ei - r
        mx |= v ^ (v >> 31)
        pb[j + 1] = v + BIAS
        k += 1
    ps[1] = mx


@micropython.viper
def absmax(buf, i0: int, i1: int) -> int:
    """OR-maximum (>= |v| - 1) of the biased words buf[i0:i1]."""
    pb = ptr32(buf)
    mx = 0
    for i in range(i0, i1):
        v = pb[i] - BIAS
        mx |= v ^ (v >> 31)
    return mx
