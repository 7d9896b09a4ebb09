# Time-domain kernels (viper). Inputs are int16 sample arrays (chip counts); ptr16 loads are
# unsigned, so samples are sign-extended with ((v ^ 0x8000) - 0x8000).
#
# 32-bit safety (ESP32 viper ints are 32-bit; on x64 they are 64-bit, so
# tests/test_features_int32.py runs the plain twins with every intermediate checked):
#   sum of N int16 samples: |s| <= 32768 * N <= 2**27 for N <= 4096
#   squares are split (moments34): d = h*256 + l with h = d >> 8 (|h| <= 256 for |d| <= 65535), 0 <= l < 256;
#     each partial sum stays below 2**29 for N <= 4096
#   moments34: q = round(d / 2**sh) with |q| <= 1023, q*q = a*1024 + b (a, b < 1024); the six
#     products are below 2**20 and are summed in blocks of 512 (|sum| <= 2**29), each block folded
#     into (sum >> 16, sum & 0xFFFF) pairs (<= 2**13 and <= 2**19 for N <= 4096)
import micropython


@micropython.viper
def moments(x, n: int, out):
    """out[0] = sum(x), out[1] = min(x), out[2] = max(x) over x[0:n] (int16 array, array('i') out).
    n is a multiple of 2 (two samples per pass through the loop)."""
    o = ptr32(out)
    s = 0
    lo = 32767
    hi = -32768
    a = int(ptr16(x))
    end = a + 2 * n
    while a < end:
        p = ptr16(a)
        v = (p[0] ^ 0x8000) - 0x8000
        s += v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        v = (p[1] ^ 0x8000) - 0x8000
        s += v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
        a += 4
    o[0] = s
    o[1] = lo
    o[2] = hi


@micropython.viper
def moments34(x, n: int, mean: int, sh: int, out):
    """Integer power sums of q = (x - mean + rnd) >> sh (|q| <= 1023) for skewness and kurtosis.
    out[0] = sum q; out[1 + 2j], out[2 + 2j] = (hi, lo) with sum = hi * 65536 + lo of
    j = 0: q2, 1: a*q, 2: b*q, 3: a*a, 4: a*b, 5: b*b where q*q = a*1024 + b.
    sum q**3 = S1*1024 + S2, sum q**4 = S3*2**20 + S4*2048 + S5.
    In the same pass, the exact sum of d**2 (d = x - mean = h*256 + l, 0 <= l < 256):
    out[13] = sum h*h, out[14] = sum h*l, out[15] = sum l*l (d**2 = out[13]*65536 +
    out[14]*512 + out[15])."""
    o = ptr32(out)
    mb = mean + 0x8000
    rnd = (1 << sh) >> 1
    s1 = 0
    hh = 0
    hl = 0
    ll = 0
    for j in range(13):
        o[j] = 0
    a = int(ptr16(x))
    end = a + 2 * n
    while a < end:
        e = a + 1024
        if e > end:
            e = end
        b2 = 0
        b3a = 0
        b3b = 0
        b4a = 0
        b4b = 0
        b4c = 0
        while a < e:
            p = ptr16(a)
            d = (p[0] ^ 0x8000) - mb
            h = d >> 8
            l = d & 0xFF
            hh += h * h
            hl += h * l
            ll += l * l
            q = (d + rnd) >> sh
            s1 += q
            q2 = q * q
            u = q2 >> 10
            w = q2 & 1023
            b2 += q2
            b3a += u * q
            b3b += w * q
            b4a += u * u
            b4b += u * w
            b4c += w * w
            a += 2
        o[1] += b2 >> 16
        o[2] += b2 & 0xFFFF
        o[3] += b3a >> 16
        o[4] += b3a & 0xFFFF
        o[5] += b3b >> 16
        o[6] += b3b & 0xFFFF
        o[7] += b4a >> 16
        o[8] += b4a & 0xFFFF
        o[9] += b4b >> 16
        o[10] += b4b & 0xFFFF
        o[11] += b4c >> 16
        o[12] += b4c & 0xFFFF
    o[0] = s1
    o[13] = hh
    o[14] = hl
    o[15] = ll
