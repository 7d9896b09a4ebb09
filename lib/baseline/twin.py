# Plain-Python twins of lib/baseline/kernel.py, the same integer arithmetic (32-bit safe: every
# intermediate fits a signed word). Used where viper is missing and by the tests (bit-exact).


def tolog(x, lin, n):
    for i in range(n):
        if lin[i]:
            continue
        v = x[i]
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
        x[i] = (b << 8) + (f >> 7)


def learn(st, x, use, n, sh):
    for i in range(n):
        if not use[i]:
            continue
        m = st[2 * i]
        d = st[2 * i + 1]
        v = x[i] - m
        step = max(1, d >> sh)
        if v > 0:
            m += step
        elif v < 0:
            m -= step
        a = abs(v)
        step = max(1, d >> 4)
        if a > d:
            d += step
        elif a < d:
            d -= step
        st[2 * i] = m
        st[2 * i + 1] = max(d, 1)


def judge(st, x, z, n, floor, fl_lin, lin, use):
    tot = 0
    best = 0
    arg = 0
    for i in range(n):
        if not use[i]:
            z[i] = 0
            continue
        sg = max((st[2 * i + 1] * 380) >> 8, fl_lin if lin[i] else floor)
        v = ((x[i] - st[2 * i]) << 8) // sg
        v = min(max(v, -32512), 32512)
        z[i] = v
        tot += (v * v) >> 8
        if abs(v) > best:
            best = abs(v)
            arg = i
    z[n] = arg
    z[n + 1] = best
    return tot
