# Viper kernels of the baseline (lib/baseline/model.py): integer fixed point only, no allocation.
# Their plain-Python twins are in twin.py (tests/test_baseline.py proves them bit-exact).
#
#   tolog(x, lin, n)            x[i] (value * 2**16, > 0) -> log2 in Q8, where lin[i] == 0
#   learn(st, x, use, n, sh)    one running window into the robust centre/spread state
#   judge(st, x, z, n, floor, fl_lin, lin, use) -> sum of z**2 in Q8; z[i] Q8, z[n] argmax |z|,
#                               z[n+1] max |z| (features with use[i] == 0: z 0, not learned)
#
# ptr32 loads are zero-extended on a 64-bit port and signed on a 32-bit one (the ESP32): values
# that may be negative are sign-extended from bit 31 by hand, so both give the same numbers.
# st holds per feature i: st[2i] the centre (a streaming median: steps of spread >> sh towards
# each window's value), st[2i+1] the mean-absolute-deviation median (steps of spread >> 4).
import micropython


@micropython.viper
def tolog(x, lin, n: int):
    p = ptr32(x)
    q = ptr8(lin)
    for i in range(n):
        if q[i]:
            continue
        v = p[i]
        v = (((((v >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (v & 0xFFFF)
        if v < 1:
            v = 1
        b = 0
        while (v >> b) > 1:
            b += 1
        if b >= 15:
            f = (v >> (b - 15)) & 0x7FFF
        else:
            f = (v << (15 - b)) & 0x7FFF
        c = (f * (32768 - f)) >> 15
        f = f + ((c * 11) >> 5)
        p[i] = (b << 8) + (f >> 7)


@micropython.viper
def learn(st, x, use, n: int, sh: int):
    s = ptr32(st)
    p = ptr32(x)
    u = ptr8(use)
    for i in range(n):
        if not u[i]:
            continue
        m = s[2 * i]
        m = (((((m >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (m & 0xFFFF)
        d = s[2 * i + 1]
        v = p[i]
        v = (((((v >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (v & 0xFFFF)
        v = v - m
        step = d >> sh
        if step < 1:
            step = 1
        if v > 0:
            m += step
        elif v < 0:
            m -= step
        a = v if v >= 0 else 0 - v
        step = d >> 4
        if step < 1:
            step = 1
        if a > d:
            d += step
        elif a < d:
            d -= step
        if d < 1:
            d = 1
        s[2 * i] = m
        s[2 * i + 1] = d


@micropython.viper
def judge(st, x, z, n: int, floor: int, fl_lin: int, lin, use) -> int:
    s = ptr32(st)
    p = ptr32(x)
    o = ptr32(z)
    q = ptr8(lin)
    u = ptr8(use)
    tot = 0
    best = 0
    arg = 0
    for i in range(n):
        if not u[i]:
            o[i] = 0
            continue
        sg = (s[2 * i + 1] * 380) >> 8  # 1.4826 x MAD: the spread of a normal distribution
        fl = fl_lin if q[i] else floor
        if sg < fl:
            sg = fl
        v = p[i]
        m = s[2 * i]
        v = (((((v >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (v & 0xFFFF)
        m = (((((m >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (m & 0xFFFF)
        v = ((v - m) << 8) // sg
        if v > 32512:
            v = 32512
        elif v < -32512:
            v = -32512
        o[i] = v
        tot += (v * v) >> 8
        a = v if v >= 0 else 0 - v
        if a > best:
            best = a
            arg = i
    o[n] = arg
    o[n + 1] = best
    return tot
