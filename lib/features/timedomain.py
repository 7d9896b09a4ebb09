# Time-domain kernels (viper). Inputs are int16 sample arrays (chip counts).
#
# 32-bit safety (ESP32 viper ints are 32-bit; on x64 they are 64-bit, so tests model the wrap):
#   sum of N int16 samples: |s| <= 32768 * N <= 2**27 for N <= 4096           -> fits
#   squares are split: d = h*256 + l with h = d >> 8 (|h| <= 256 for |d| <= 65535), 0 <= l < 256
#   d*d = h*h*65536 + 2*h*l*256 + l*l, and each partial sum stays below 2**29 for N <= 4096
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
        v = p[i]
        if v & 0x8000:
            v -= 0x10000
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
        v = p[i]
        if v & 0x8000:
            v -= 0x10000
        d = v - mean
        h = d >> 8
        l = d & 0xFF
        hh += h * h
        hl += h * l
        ll += l * l
    o[0] = hh
    o[1] = hl
    o[2] = ll
