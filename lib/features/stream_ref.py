# Plain-Python twin of features/streamk.py (same arguments, same integers): the reference the
# kernel tests compare with, and the fallback where viper is unavailable.
QMAX = 180


def _c16(v):
    return max(-32767, min(32767, v))


def block(blk, i0, k, ax, c, s16, s32, env, vel, nmax):
    h0, h1, h2, ha1, ha2, l0, l1, l2, la1, la2, f0, f1, f2, fa1, fa2, m0, m1, m2, ma1, ma2 = c
    x1, x2, hy1, hy2, ly1, ly2, fy1, fy2, uy1, uy2 = s16
    (p, ec, en, eca, vc, vn, vca, hh, hl, hpk, ref, sh, sq, s2, s3h, s3l, s4h, s4l, ncl, xmin, xmax, sx, pos,
     ns) = s32
    rnd = (1 << sh) >> 1
    i = i0
    while i < k:
        x = blk[3 * i + ax]
        i += 1
        y = _c16((h0 * x + h1 * x1 + h2 * x2 - ha1 * hy1 - ha2 * hy2 + 2048) >> 12)
        z = _c16((l0 * y + l1 * hy1 + l2 * hy2 - la1 * ly1 - la2 * ly2 + 2048) >> 12)
        hy2, hy1, ly2, ly1 = hy1, y, ly1, z
        g = _c16((f0 * x + f1 * x1 + f2 * x2 - fa1 * fy1 - fa2 * fy2 + 2048) >> 12)
        u = _c16((m0 * g + m1 * fy1 + m2 * fy2 - ma1 * uy1 - ma2 * uy2 + 2048) >> 12)
        fy2, fy1, uy2, uy1 = fy1, g, uy1, u
        x2, x1 = x1, x
        u = abs(u)
        q = u * u
        hh += q >> 16
        hl += q & 0xFFFF
        hpk = max(hpk, u)
        q = (x - ref + rnd) >> sh
        if q > QMAX or q < -QMAX:
            q = QMAX if q > 0 else -QMAX
            ncl += 1
        sq += q
        s2 += q * q
        s3h += (q * q * q) >> 12
        s3l += (q * q * q) & 0xFFF
        s4h += (q ** 4) >> 16
        s4l += (q ** 4) & 0xFFFF
        sx += x
        xmin = min(xmin, x)
        xmax = max(xmax, x)
        ns += 1
        z = abs(z)
        ec += (16 - p) * z
        en += p * z
        vc += (16 - p) * x
        vn += p * x
        if p == 15:
            if pos >= 0:
                env[pos] = min(32767, (ec + eca + 64) >> 7)
                v = (vc + vca + 128) >> 8
                vel[pos] = v - 0x10000 if v > 32767 else v
            pos += 1
            eca, ec, en = en, 0, 0
            vca, vc, vn = vn, 0, 0
            p = 0
            s4h += s4l >> 16
            s4l &= 0xFFFF
            hh += hl >> 16
            hl &= 0xFFFF
            if pos >= nmax:
                break
        else:
            p += 1
    for j, v in enumerate((x1, x2, hy1, hy2, ly1, ly2, fy1, fy2, uy1, uy2)):
        s16[j] = v
    for j, v in enumerate((p, ec, en, eca, vc, vn, vca, hh, hl, hpk)):
        s32[j] = v
    for j, v in zip(range(12, 24), (sq, s2, s3h, s3l, s4h, s4l, ncl, xmin, xmax, sx, pos, ns)):
        s32[j] = v
    return i
