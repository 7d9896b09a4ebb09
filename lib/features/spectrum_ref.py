# Plain-Python twins of the spectrum kernels (spectrum.py): same names, signatures and integer
# arithmetic, bit-identical results (conventions: features/reference.py).
from features.fft_ref import BIAS


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
    v = (buf[1] - BIAS + rnd) >> sh
    ny = v * v
    v = (buf[0] - BIAS + rnd) >> sh
    p[0] = v * v
    for k in range(1, m):
        a = (buf[2 * k] - BIAS + rnd) >> sh
        b = (buf[2 * k + 1] - BIAS + rnd) >> sh
        p[k] = a * a + b * b
    p[m] = ny  # (last: p may be buf itself)


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


def wsum(p, k0, k1, out):
    a = b = c = 0
    for k in range(k0, k1):
        v = p[k]
        d = k * k
        if v >= d:
            q = v // d
            v = v - q * d
            a += q >> 16
            b += q & 0xFFFF
        c += ((v << 8) + (d >> 1)) // d
    out[0] = a
    out[1] = b
    out[2] = c


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
