# Plain-Python twins of the viper kernels: same names, same signatures, same results.
# Used by tests as the reference and by the node as the fallback when the compiled module
# cannot load (wrong arch, older MicroPython).


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
