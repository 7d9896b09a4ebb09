# Streaming kernel (viper): one axis of one FIFO block at the chip's full rate, integers only.
#
# Per sample x (int16 counts):
#   envelope: band-pass = two biquads in cascade (the order-2 Butterworth band-pass's sections,
#     Q12 coefficients, direct form I, outputs clamped to int16), rectified, then an order-2 CIC decimator by 16
#     (triangle of 31 taps, weights summing to 256: the anti-alias filter of the decimation,
#     nulls at multiples of the output rate), stored as int16 = mean |band| x 2 (>> 7).
#   velocity stream: the raw samples through the same CIC (>> 8: counts) at the decimated rate.
#   HF: two biquads likewise (the 1-10 kHz band-pass), sum of squares and peak.
#   moments: q = round((x - ref) / 2**sh) clamped to +-180 (counted), sums of q, q**2, q**3,
#     q**4 (split at bit 12 / 16 so nothing passes 2**31), sum, min and max of x.
# 32-bit bounds: coefficients |c| < 2**13 (|a1| < 2), signals |v| <= 32767: each product
#   < 2**28, a section's five-term sum < 2**30.3; CIC sums <= 256 * 32767 < 2**23; over a window
#   of 32768 samples sum q**2 < 2**30, sum x < 2**30, the split sums < 2**30.
# State: c (array('h'), 20 coefficients: envelope HP b0 b1 b2 a1 a2, LP, HF HP, HF LP),
#   s16 (array('h'), 10: x1 x2 hy1 hy2 ly1 ly2 fy1 fy2 uy1 uy2), s32 (array('i'), see below).
# ptr16/ptr32 loads zero-extend on a 64-bit port: signs are restored explicitly.
import micropython
from micropython import const

# s32 slots: 0 CIC phase, 1-3 envelope CIC (current, next, carry), 4-6 velocity CIC, 7-8 HF sum of
# squares (x 65536 + low), 9 HF peak, 10 moments reference, 11 its shift, 12 sum q, 13 sum q**2,
# 14-15 sum q**3 (x 4096 + low), 16-17 sum q**4 (x 65536 + low), 18 clamped, 19 min, 20 max,
# 21 sum x, 22 write position (negative: warm-up), 23 samples
QMAX = const(180)


@micropython.viper
def block(blk, i0: int, k: int, ax: int, c, s16, s32, env, vel, nmax: int) -> int:
    """Samples i0..k-1 of axis ax of blk (x, y, z interleaved int16). Stops after the decimated
    output that fills env/vel (position nmax); returns the next sample index (k if all used)."""
    b = ptr16(blk)
    cf = ptr16(c)
    t = ptr16(s16)
    s = ptr32(s32)
    pe = ptr16(env)
    pv = ptr16(vel)
    h0 = (cf[0] ^ 0x8000) - 0x8000
    h1 = (cf[1] ^ 0x8000) - 0x8000
    h2 = (cf[2] ^ 0x8000) - 0x8000
    ha1 = (cf[3] ^ 0x8000) - 0x8000
    ha2 = (cf[4] ^ 0x8000) - 0x8000
    l0 = (cf[5] ^ 0x8000) - 0x8000
    l1 = (cf[6] ^ 0x8000) - 0x8000
    l2 = (cf[7] ^ 0x8000) - 0x8000
    la1 = (cf[8] ^ 0x8000) - 0x8000
    la2 = (cf[9] ^ 0x8000) - 0x8000
    f0 = (cf[10] ^ 0x8000) - 0x8000
    f1 = (cf[11] ^ 0x8000) - 0x8000
    f2 = (cf[12] ^ 0x8000) - 0x8000
    fa1 = (cf[13] ^ 0x8000) - 0x8000
    fa2 = (cf[14] ^ 0x8000) - 0x8000
    m0 = (cf[15] ^ 0x8000) - 0x8000
    m1 = (cf[16] ^ 0x8000) - 0x8000
    m2 = (cf[17] ^ 0x8000) - 0x8000
    ma1 = (cf[18] ^ 0x8000) - 0x8000
    ma2 = (cf[19] ^ 0x8000) - 0x8000
    x1 = (t[0] ^ 0x8000) - 0x8000
    x2 = (t[1] ^ 0x8000) - 0x8000
    hy1 = (t[2] ^ 0x8000) - 0x8000
    hy2 = (t[3] ^ 0x8000) - 0x8000
    ly1 = (t[4] ^ 0x8000) - 0x8000
    ly2 = (t[5] ^ 0x8000) - 0x8000
    fy1 = (t[6] ^ 0x8000) - 0x8000
    fy2 = (t[7] ^ 0x8000) - 0x8000
    uy1 = (t[8] ^ 0x8000) - 0x8000
    uy2 = (t[9] ^ 0x8000) - 0x8000
    # 32-bit slots, sign-extended
    w = s[0]
    p = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[1]
    ec = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[2]
    en = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[3]
    eca = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[4]
    vc = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[5]
    vn = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[6]
    vca = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[7]
    hh = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[8]
    hl = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[9]
    hpk = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[10]
    ref = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[11]
    sh = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[12]
    sq = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[13]
    s2 = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[14]
    s3h = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[15]
    s3l = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[16]
    s4h = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[17]
    s4l = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[18]
    ncl = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[19]
    xmin = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[20]
    xmax = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[21]
    sx = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[22]
    pos = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    w = s[23]
    ns = (((((w >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (w & 0xFFFF)
    rnd = (1 << sh) >> 1
    i = i0
    while i < k:
        x = (b[3 * i + ax] ^ 0x8000) - 0x8000
        i += 1
        # envelope band: high-pass, then low-pass on its outputs
        y = (h0 * x + h1 * x1 + h2 * x2 - ha1 * hy1 - ha2 * hy2 + 2048) >> 12
        if y > 32767:
            y = 32767
        elif y < -32767:
            y = -32767
        z = (l0 * y + l1 * hy1 + l2 * hy2 - la1 * ly1 - la2 * ly2 + 2048) >> 12
        if z > 32767:
            z = 32767
        elif z < -32767:
            z = -32767
        hy2 = hy1
        hy1 = y
        ly2 = ly1
        ly1 = z
        # HF band
        g = (f0 * x + f1 * x1 + f2 * x2 - fa1 * fy1 - fa2 * fy2 + 2048) >> 12
        if g > 32767:
            g = 32767
        elif g < -32767:
            g = -32767
        u = (m0 * g + m1 * fy1 + m2 * fy2 - ma1 * uy1 - ma2 * uy2 + 2048) >> 12
        if u > 32767:
            u = 32767
        elif u < -32767:
            u = -32767
        fy2 = fy1
        fy1 = g
        uy2 = uy1
        uy1 = u
        x2 = x1
        x1 = x
        if u < 0:
            u = 0 - u
        q = u * u
        hh += q >> 16
        hl += q & 0xFFFF
        if u > hpk:
            hpk = u
        # moments
        q = (x - ref + rnd) >> sh
        if q > QMAX:
            q = QMAX
            ncl += 1
        elif q < 0 - QMAX:
            q = 0 - QMAX
            ncl += 1
        sq += q
        q2 = q * q
        s2 += q2
        q3 = q2 * q
        s3h += q3 >> 12
        s3l += q3 & 0xFFF
        q4 = q2 * q2
        s4h += q4 >> 16
        s4l += q4 & 0xFFFF
        sx += x
        if x < xmin:
            xmin = x
        if x > xmax:
            xmax = x
        ns += 1
        # decimation (CIC order 2 by 16) of |band| and of x
        if z < 0:
            z = 0 - z
        ec += (16 - p) * z
        en += p * z
        vc += (16 - p) * x
        vn += p * x
        if p == 15:
            if pos >= 0:
                e = (ec + eca + 64) >> 7
                if e > 32767:
                    e = 32767
                pe[pos] = e
                pv[pos] = ((vc + vca + 128) >> 8) & 0xFFFF
            pos += 1
            eca = en
            ec = 0
            en = 0
            vca = vn
            vc = 0
            vn = 0
            p = 0
            s4h += s4l >> 16
            s4l &= 0xFFFF
            hh += hl >> 16
            hl &= 0xFFFF
            if pos >= nmax:
                break
        else:
            p += 1
    t[0] = x1
    t[1] = x2
    t[2] = hy1
    t[3] = hy2
    t[4] = ly1
    t[5] = ly2
    t[6] = fy1
    t[7] = fy2
    t[8] = uy1
    t[9] = uy2
    s[0] = p
    s[1] = ec
    s[2] = en
    s[3] = eca
    s[4] = vc
    s[5] = vn
    s[6] = vca
    s[7] = hh
    s[8] = hl
    s[9] = hpk
    s[12] = sq
    s[13] = s2
    s[14] = s3h
    s[15] = s3l
    s[16] = s4h
    s[17] = s4l
    s[18] = ncl
    s[19] = xmin
    s[20] = xmax
    s[21] = sx
    s[22] = pos
    s[23] = ns
    return i
