# Plain-Python twins of the time-domain kernels (timedomain.py): same names, signatures and
# integer arithmetic, bit-identical results (conventions: features/reference.py).


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


def moments34(x, n, mean, sh, out):
    s1 = 0
    hh = hl = ll = 0
    acc = [0, 0, 0, 0, 0, 0]  # q2, q3a, q3b, q4a, q4b, q4c (block sums)
    hls = [0] * 12
    rnd = (1 << sh) >> 1
    i = 0
    while i < n:
        e = i + 512
        if e > n:
            e = n
        b2 = b3a = b3b = b4a = b4b = b4c = 0
        while i < e:
            d = x[i] - mean
            h = d >> 8
            l = d & 0xFF
            hh += h * h
            hl += h * l
            ll += l * l
            q = (d + rnd) >> sh
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
            hls[2 * j] += acc[j] >> 16
            hls[2 * j + 1] += acc[j] & 0xFFFF
    out[0] = s1
    for j in range(12):
        out[1 + j] = hls[j]
    out[13] = hh
    out[14] = hl
    out[15] = ll
