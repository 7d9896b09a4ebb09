# Time-domain kernels (viper). Inputs are int16 sample arrays (chip counts); ptr16 loads are
# unsigned, so samples are sign-extended with ((v ^ 0x8000) - 0x8000).
#
# 32-bit safety (ESP32 viper ints are 32-bit; on x64 they are 64-bit, so
# tests/test_features_int32.py runs the plain twins with every intermediate checked):
#   sum of N int16 samples: |s| <= 32768 * N <= 2**27 for N <= 4096
#   squares are split: d = h*256 + l with h = d >> 8 (|h| <= 256 for |d| <= 65535), 0 <= l < 256;
#     each partial sum stays below 2**29 for N <= 4096
#   moments34: q = round(d / 2**sh) with |q| <= 1023, q*q = a*1024 + b (a, b < 1024); the six
#     products are below 2**20 and are summed in blocks of 512 (|sum| <= 2**29), each block folded
#     into (sum >> 16, sum & 0xFFFF) pairs (<= 2**13 and <= 2**19 for N <= 4096)
import micropython


@micropython.viper
def moments(x, n: int, out):
    """out[0] = sum(x), out[1] = min(x), out[2] = max(x) over x[0:n] (int16 array, array('i') out)."""
    p = ptr16(x)
    o = ptr32(out)
    s = 0
    lo = 32767
    hi = -32768
    for i in range(n):
        v = (p[i] ^ 0x8000) - 0x8000
        s += v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    o[0] = s
    o[1] = lo
    o[2] = hi


@micropython.viper
def sumsq_split(x, n: int, mean: int, out):
    """Sum of (x - mean)**2 as three partial sums: out[0] = sum h*h, out[1] = sum h*l,
    out[2] = sum l*l with d = x - mean = h*256 + l, 0 <= l < 256.
    Total = out[0]*65536 + out[1]*512 + out[2]."""
    p = ptr16(x)
    o = ptr32(out)
    hh = 0
    hl = 0
    ll = 0
    for i in range(n):
        d = ((p[i] ^ 0x8000) - 0x8000) - mean
        h = d >> 8
        l = d & 0xFF
        hh += h * h
        hl += h * l
        ll += l * l
    o[0] = hh
    o[1] = hl
    o[2] = ll


@micropython.viper
def moments34(x, n: int, mean: int, sh: int, out):
    """Integer power sums of q = (x - mean + rnd) >> sh (|q| <= 1023) for skewness and kurtosis.
    out[0] = sum q; out[1 + 2j], out[2 + 2j] = (hi, lo) with sum = hi * 65536 + lo of
    j = 0: q2, 1: a*q, 2: b*q, 3: a*a, 4: a*b, 5: b*b where q*q = a*1024 + b.
    sum q**3 = S1*1024 + S2, sum q**4 = S3*2**20 + S4*2048 + S5."""
    p = ptr16(x)
    o = ptr32(out)
    rnd = (1 << sh) >> 1
    s1 = 0
    h0 = 0
    l0 = 0
    h1 = 0
    l1 = 0
    h2 = 0
    l2 = 0
    h3 = 0
    l3 = 0
    h4 = 0
    l4 = 0
    h5 = 0
    l5 = 0
    i = 0
    while i < n:
        e = i + 512
        if e > n:
            e = n
        b2 = 0
        b3a = 0
        b3b = 0
        b4a = 0
        b4b = 0
        b4c = 0
        while i < e:
            q = (((p[i] ^ 0x8000) - 0x8000) - mean + rnd) >> sh
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
        h0 += b2 >> 16
        l0 += b2 & 0xFFFF
        h1 += b3a >> 16
        l1 += b3a & 0xFFFF
        h2 += b3b >> 16
        l2 += b3b & 0xFFFF
        h3 += b4a >> 16
        l3 += b4a & 0xFFFF
        h4 += b4b >> 16
        l4 += b4b & 0xFFFF
        h5 += b4c >> 16
        l5 += b4c & 0xFFFF
    o[0] = s1
    o[1] = h0
    o[2] = l0
    o[3] = h1
    o[4] = l1
    o[5] = h2
    o[6] = l2
    o[7] = h3
    o[8] = l3
    o[9] = h4
    o[10] = l4
    o[11] = h5
    o[12] = l5
