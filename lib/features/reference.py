# Plain-Python twins of the viper kernels (timedomain.py, fft.py, spectrum.py, envelope.py):
# same names, same signatures, same integer arithmetic, bit-identical results. Used by the tests
# as the reference (tests/test_features_kernels.py compares every kernel) and by the node as the
# fallback where the compiled modules cannot load (wrong arch, older MicroPython).
#
# Conventions shared with the viper kernels:
#   - sample windows are array('h') (chip counts);
#   - the FFT work buffer is array('i') holding v + BIAS (BIAS = 2**29) so that viper's ptr32
#     loads, which zero-extend on x64 and sign-extend on 32-bit chips, read the same non-negative
#     word on every architecture; every stored |v| is below 2**17;
#   - power spectra are array('i') of non-negative values below 2**31;
#   - twiddles are a quarter-wave table array('i') of N/4+1 values round(2**18 cos(2 pi k/N)),
#     all non-negative (W_N^k = cos - i*sin, sin read from the mirrored index), the Hann table is
#     array('h') of N/2+1 values in Q15 (periodic Hann, symmetric around N/2).
# Every intermediate stays inside int32 (bounds are written beside each kernel; the test
# tests/test_features_int32.py runs these twins with every arithmetic result checked).

BIAS = 0x20000000
LIM = 0x400000  # FFT data magnitude limit before each butterfly stage (2**22)


def _s16(v):
    return ((v & 0xFFFF) ^ 0x8000) - 0x8000


# ---- time domain (timedomain.py) ---------------------------------------------------------------
def moments(x, n, out):
    s = 0
    lo = 32767
    hi = -32768
    for i in range(n):
        v = x[i]
        s += v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    out[0] = s
    out[1] = lo
    out[2] = hi


def sumsq_split(x, n, mean, out):
    hh = hl = ll = 0
    for i in range(n):
        d = x[i] - mean
        h = d >> 8
        l = d & 0xFF
        hh += h * h
        hl += h * l
        ll += l * l
    out[0] = hh
    out[1] = hl
    out[2] = ll


def moments34(x, n, mean, sh, out):
    s1 = 0
    acc = [0, 0, 0, 0, 0, 0]  # q2, q3a, q3b, q4a, q4b, q4c (block sums)
    hl = [0] * 12
    rnd = (1 << sh) >> 1
    i = 0
    while i < n:
        e = i + 512
        if e > n:
            e = n
        b2 = b3a = b3b = b4a = b4b = b4c = 0
        while i < e:
            q = (x[i] - mean + rnd) >> sh
            s1 += q
            q2 = q * q
            a = q2 >> 10
            b = q2 & 1023
            b2 += q2
            b3a += a * q
            b3b += b * q
            b4a += a * a
            b4b += a * b
            b4c += b * b
            i += 1
        acc[0] = b2
        acc[1] = b3a
        acc[2] = b3b
        acc[3] = b4a
        acc[4] = b4b
        acc[5] = b4c
        for j in range(6):
            hl[2 * j] += acc[j] >> 16
            hl[2 * j + 1] += acc[j] & 0xFFFF
    out[0] = s1
    for j in range(12):
        out[1 + j] = hl[j]


# ---- FFT (fft.py) ------------------------------------------------------------------------------
def hann_load(x, n, mean, r, win, buf):
    h = n >> 1
    for i in range(n):
        if i <= h:
            w = win[i]
        else:
            w = win[n - i]
        v = (x[i] - mean) * w
        if r > 0:
            v = ((v >> (r - 1)) + 1) >> 1
        else:
            v = v << -r
        buf[i] = v + BIAS


def cfft(buf, m, tw, tstride, inv, st):
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
    # pending shift so that every input is <= 2**22 in magnitude
    mx = 0
    for i in range(2 * m):
        v = buf[i] - BIAS
        mx |= v ^ (v >> 31)
    sh = 0
    while (mx >> sh) >= LIM:
        sh += 1
    q = (m * tstride) >> 2  # quarter of the table's N
    total = 0
    ln = 2
    step = tstride * (m >> 1)
    while ln <= m:
        half = ln >> 1
        rnd = (1 << sh) >> 1
        total += sh
        chk = 0
        for jj in range(half):
            t = step * jj
            if t <= q:
                c = tw[t]
                s = tw[q - t]
            else:
                c = -tw[2 * q - t]
                s = tw[t - q]
            if inv:
                s = -s
            a = 2 * jj
            while a < 2 * m:
                b = a + ln
                ar = (buf[a] - BIAS + rnd) >> sh
                ai = (buf[a + 1] - BIAS + rnd) >> sh
                br = (buf[b] - BIAS + rnd) >> sh
                bi = (buf[b + 1] - BIAS + rnd) >> sh
                if jj == 0:
                    tr = br
                    ti = bi
                else:
                    # (b * w) >> 18 with b = bh * 2**11 + bl: every product below 2**29
                    brh = br >> 11
                    brl = br & 0x7FF
                    bih = bi >> 11
                    bil = bi & 0x7FF
                    tr = (brh * c + bih * s + ((brl * c + bil * s + 1024) >> 11) + 64) >> 7
                    ti = (bih * c - brh * s + ((bil * c - brl * s + 1024) >> 11) + 64) >> 7
                v = ar + tr
                chk |= v + LIM
                buf[a] = v + BIAS
                v = ai + ti
                chk |= v + LIM
                buf[a + 1] = v + BIAS
                v = ar - tr
                chk |= v + LIM
                buf[b] = v + BIAS
                v = ai - ti
                chk |= v + LIM
                buf[b + 1] = v + BIAS
                a += 2 * ln
        # any output outside [-LIM, LIM): shift the next stage's inputs by 2 (a stage whose
        # inputs are within LIM gives outputs below LIM * (1 + sqrt(2)) < 4 LIM)
        sh = 2 if chk >> 23 else 0
        ln <<= 1
        step >>= 1
    if sh:
        rnd = (1 << sh) >> 1
        for i in range(2 * m):
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
        p = (c * ih - s * oh + ((c * il - s * ol + 1024) >> 11) + 64) >> 7
        r = (c * oh + s * ih + ((c * ol + s * il + 1024) >> 11) + 64) >> 7
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


# ---- spectrum (spectrum.py) -------------------------------------------------------------------
def isqrt(v):
    r = 0
    b = 0x20000000
    b = b + b
    while b > v:
        b >>= 2
    while b:
        if v >= r + b:
            v -= r + b
            r = (r >> 1) + b
        else:
            r >>= 1
        b >>= 2
    return r


def power(buf, m, sh, p):
    rnd = (1 << sh) >> 1
    v = (buf[0] - BIAS + rnd) >> sh
    p[0] = v * v
    v = (buf[1] - BIAS + rnd) >> sh
    p[m] = v * v
    for k in range(1, m):
        a = (buf[2 * k] - BIAS + rnd) >> sh
        b = (buf[2 * k + 1] - BIAS + rnd) >> sh
        p[k] = a * a + b * b


def peaks(p, k0, k1, kk, idx, val):
    for i in range(kk):
        idx[i] = 0
        val[i] = 0
    for k in range(k0, k1):
        v = p[k]
        if v > p[k - 1] and v >= p[k + 1] and v > val[kk - 1]:
            j = kk - 1
            while j > 0 and val[j - 1] < v:
                val[j] = val[j - 1]
                idx[j] = idx[j - 1]
                j -= 1
            val[j] = v
            idx[j] = k


def band_sum(p, k0, k1, out):
    h = 0
    l = 0
    for k in range(k0, k1):
        v = p[k]
        h += v >> 16
        l += v & 0xFFFF
    out[0] = h
    out[1] = l


def wsum(p, wm, we, k0, k1, out):
    a = b = c = d = 0
    for k in range(k0, k1):
        e = we[k]
        q = (p[k] + ((1 << e) >> 1)) >> e
        m = wm[k]
        t = (q >> 16) * m
        u = (q & 0xFFFF) * m
        b += t >> 15
        a += t & 0x7FFF
        c += u >> 16
        d += u & 0xFFFF
    out[0] = a
    out[1] = b
    out[2] = c
    out[3] = d


def range_max(p, k0, k1, out):
    best = -1
    bi = k0
    for k in range(k0, k1):
        v = p[k]
        if v > best:
            best = v
            bi = k
    out[0] = best
    out[1] = bi


def export_u16(p, k0, nb, grp, out):
    k = k0
    for i in range(nb):
        mx = 0
        for j in range(grp):
            v = p[k + j]
            if v > mx:
                mx = v
        out[i] = isqrt(mx)
        k += grp


# ---- envelope (envelope.py) -------------------------------------------------------------------
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


def env_prep(buf, mm, win, wstride, ebar, sh):
    h = mm >> 1
    rnd = (1 << sh) >> 1
    for i in range(mm):
        if i <= h:
            w = win[i * wstride]
        else:
            w = win[(mm - i) * wstride]
        v = buf[i] - BIAS - ((ebar * w + 16384) >> 15)
        buf[i] = ((v + rnd) >> sh) + BIAS
