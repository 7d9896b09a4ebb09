# window: acquisition of gap-free sample windows from an accelerometer FIFO.
#
# The sample-rate arithmetic the sampler and the streamer share (here: the package is loaded anyway,
# a module of its own costs ~0.3 KB more on a node): rates from counts and microseconds, exact and
# without big ints: small ints are 31-bit on an ESP32, so count * 10**9 or elapsed_us * rate would be
# heap objects there (this runs in the sampling path).


def scaled(count, span, digits):
    """count * 10**digits // span by long division in base 10: no big int while 10 * span fits a
    small int (spans under ~100 s in microseconds, ~1 day in milliseconds)."""
    q = count // span
    r = count - q * span
    for _ in range(digits):
        r *= 10
        d = r // span
        q = q * 10 + d
        r -= d * span
    return q


def mhz(count, span_us):
    """count * 10**9 // span_us: samples per span as milli-hertz."""
    if count <= 1 or span_us >= 100000000:
        return count * 1000000000 // span_us
    return scaled(count, span_us, 9)


def due(elapsed_us, rate):
    """elapsed_us * rate // 10**6: samples due in elapsed_us at rate Hz (rate < 10**6)."""
    s = elapsed_us // 1000000
    u = elapsed_us - s * 1000000
    m = u // 1000
    return s * rate + (m * rate + (u - m * 1000) * rate // 1000) // 1000
