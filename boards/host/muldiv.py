# Exact a * b // c and a * b % c for the host board's clock and resampling arithmetic, without
# big ints on a 32-bit port.
#
# On an ESP32 (and the 32-bit unix port) small ints are 31-bit: a product like elapsed_us *
# rate_mhz or sample_index * phase_increment is a big int there, a heap allocation, and the
# emulators run inside the node's heap-locked burst reads. These helpers give the same exact
# result on every port: the product itself when it is a small int everywhere, else a viper
# shift-and-add loop that keeps every intermediate below 2**31, else (operands that are already
# big ints, which a 64-bit port never has in practice) Python's big ints.
import micropython

_SMALL = 0x3FFFFFFF  # the largest small int on a 32-bit port


@micropython.viper
def _mdm(a: int, b: int, c: int, rem: int) -> int:
    """floor(a * b / c) (rem == 0) or a * b mod c (rem != 0), for 0 <= a < 2**30, 0 <= b < c < 2**30:
    long multiplication bit by bit with the remainder kept below c (so 2 * r < 2**31)."""
    q = 0
    r = 0
    bit = 29
    while bit >= 0:
        q += q
        r += r
        if r >= c:
            r -= c
            q += 1
        if (a >> bit) & 1:
            r += b
            if r >= c:
                r -= c
                q += 1
        bit -= 1
    if rem:
        return r
    return q


def muldiv(a, b, c):
    """floor(a * b / c), exact, for a, b >= 0 and c > 0; no allocation while a, c and the result are
    small ints (< 2**30) on a 32-bit port."""
    if b == 0 or a <= _SMALL // b:
        return a * b // c
    if a > _SMALL or c > _SMALL:
        return a * b // c
    bq = b // c
    return a * bq + _mdm(a, b - bq * c, c, 0)


def mulmod(a, b, c):
    """a * b mod c, exact, for a, b >= 0 and c > 0 (as muldiv)."""
    if b == 0 or a <= _SMALL // b:
        return a * b % c
    if a > _SMALL or c > _SMALL:
        return a * b % c
    return _mdm(a, b % c, c, 1)


def scale_ppm(v, ppm):
    """v * (10**6 + ppm) // 10**6, exact (v >= 0): v sped up (ppm > 0) or slowed down by ppm."""
    if ppm >= 0:
        return v + muldiv(v, ppm, 1000000)
    return v - muldiv(v, -ppm, 1000000) - (1 if mulmod(v, -ppm, 1000000) else 0)
