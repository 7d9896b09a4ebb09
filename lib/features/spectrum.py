# Spectrum kernels (viper) over the power spectrum p (array('i'), 0 <= p_k < 2**31).
#
# 32-bit bounds:
#   power: components shifted so that |v| <= 32767: v*v + w*w <= 2 * 32767**2 < 2**31
#   band_sum: p folded per bin into (p >> 16, p & 0xFFFF): sums <= 2048 * 2**16 = 2**27
#   wsum: k**2 <= 2**22 (k <= n/2 <= 2048), q = p // k**2 folded into halves (sums <= 2**27),
#     remainder r < k**2: r * 2**8 + k**2 / 2 < 2**31, each fraction <= 2**8 (sum <= 2**19)
#   isqrt: Newton on v < 2**31 from a power-of-two guess >= sqrt(v): r + v // r < 2**17
import micropython
from micropython import const

BIAS = const(0x20000000)


@micropython.viper
def isqrt(v: int) -> int:
    """floor(sqrt(v)) for 0 <= v < 2**31."""
    if v < 2:
        r = v
    else:
        # floor(sqrt): Newton from 2**(e+1) >= sqrt(v), e found by a 4-step binary search
        t = v
        e = 0
        if t >= 0x10000:
            t >>= 16
            e += 8
        if t >= 0x100:
            t >>= 8
            e += 4
        if t >= 0x10:
            t >>= 4
            e += 2
        if t >= 4:
            e += 1
        r = 2 << e
        while True:
            y = (r + v // r) >> 1
            if y >= r:
                break
            r = y
    return r


@micropython.viper
def power(buf, m: int, sh: int, p):
    """p[k] = |X_k|**2 of the rsplit output, components rounded >> sh; p[0] DC, p[m] Nyquist.
    p may be buf itself (memoryview(buf)[:m + 1]: an engine without envelope needs no other
    array): p[k] is written after buf[2k], buf[2k + 1] are read, the Nyquist bin last."""
    pb = ptr32(buf)
    pp = ptr32(p)
    nb = ((1 << sh) >> 1) - BIAS
    v = (pb[1] + nb) >> sh
    ny = v * v
    v = (pb[0] + nb) >> sh
    pp[0] = v * v
    src = int(pb) + 8
    dst = int(pp) + 4
    end = int(pp) + 4 * m
    while dst < end:
        q = ptr32(src)
        a = (q[0] + nb) >> sh
        b = (q[1] + nb) >> sh
        ptr32(dst)[0] = a * a + b * b
        src += 8
        dst += 4
    pp[m] = ny


@micropython.viper
def peaks(p, k0: int, k1: int, kk: int, idx, val):
    """Top-kk local maxima of p over k0 <= k < k1 (needs 1 <= k0, k1 < len(p)), strongest first,
    into idx/val (array('i')); unused slots get index 0."""
    pp = ptr32(p)
    pi = ptr32(idx)
    pv = ptr32(val)
    for i in range(kk):
        pi[i] = 0
        pv[i] = 0
    last = kk - 1
    for k in range(k0, k1):
        v = pp[k]
        if v > pp[k - 1] and v >= pp[k + 1] and v > pv[last]:
            j = last
            while j > 0 and pv[j - 1] < v:
                pv[j] = pv[j - 1]
                pi[j] = pi[j - 1]
                j -= 1
            pv[j] = v
            pi[j] = k


@micropython.viper
def band_sum(p, k0: int, k1: int, out):
    """sum p[k0:k1] = out[0] * 65536 + out[1]."""
    o = ptr32(out)
    h = 0
    l = 0
    a = int(ptr32(p)) + 4 * k0
    end = int(ptr32(p)) + 4 * k1
    while a < end:
        v = ptr32(a)[0]
        h += v >> 16
        l += v & 0xFFFF
        a += 4
    o[0] = h
    o[1] = l


@micropython.viper
def wsum(p, k0: int, k1: int, out):
    """sum of p_k / k**2 over k0 <= k < k1 (1 <= k0, k1 <= 46341) = out[0] * 2**16 + out[1]
    + out[2] / 2**8: the weight of velocity from acceleration, 1 / f**2 up to (2 pi df)**2,
    computed per bin (no weight table). The quotient q = p_k // k**2 is folded into 16-bit
    halves, the remainder r gives round(r * 2**8 / k**2) (one division where p_k < k**2)."""
    o = ptr32(out)
    a = 0
    b = 0
    c = 0
    ap = int(ptr32(p)) + 4 * k0
    k = k0
    while k < k1:
        v = ptr32(ap)[0]
        d = k * k
        if v >= d:
            q = v // d
            v = v - q * d
            a += q >> 16
            b += q & 0xFFFF
        c += ((v << 8) + (d >> 1)) // d
        ap += 4
        k += 1
    o[0] = a
    o[1] = b
    o[2] = c


@micropython.viper
def range_max(p, k0: int, k1: int, out):
    """out[0] = max p[k0:k1], out[1] = its (first) index."""
    o = ptr32(out)
    best = -1
    ab = 0
    a = int(ptr32(p)) + 4 * k0
    end = int(ptr32(p)) + 4 * k1
    while a < end:
        v = ptr32(a)[0]
        if v > best:
            best = v
            ab = a
        a += 4
    o[0] = best
    if ab:
        o[1] = (ab - int(ptr32(p))) >> 2
    else:
        o[1] = k0


@micropython.viper
def export_u16(p, k0: int, nb: int, grp: int, out):
    """out[i] = isqrt(max p over the grp bins from k0 + i*grp): amplitudes as uint16.
    floor(sqrt(v)): two Newton steps from the tangent of sqrt at 2 * 4**e (4**e <= v < 4**(e+1);
    at most 6.7 % + 1 above sqrt(v)), then one correction."""
    a = int(ptr32(p)) + 4 * k0
    gb = 4 * grp
    o = int(ptr16(out))
    end = o + 2 * nb
    while o < end:
        mx = 0
        q = a
        e = a + gb
        while q < e:
            v = ptr32(q)[0]
            if v > mx:
                mx = v
            q += 4
        if mx < 2:
            r = mx
        else:
            t = mx
            e = 0
            if t >= 0x10000:
                t >>= 16
                e += 8
            if t >= 0x100:
                t >>= 8
                e += 4
            if t >= 0x10:
                t >>= 4
                e += 2
            if t >= 4:
                e += 1
            r = ((((mx >> e) + (2 << e)) * 182) >> 9) + 1
            r = (r + mx // r) >> 1
            r = (r + mx // r) >> 1
            if r > mx // r:
                r -= 1
        ptr16(o)[0] = r
        a += gb
        o += 2
