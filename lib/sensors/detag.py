# IIS3DWB FIFO words to samples, in viper (a module of its own: only that driver loads it).
import micropython


@micropython.viper
def detag_into(dst, dst_off: int, src, nwords: int) -> int:
    """IIS3DWB FIFO: nwords x 7 bytes (tag, X_L, X_H, Y_L, Y_H, Z_L, Z_H). Words tagged
    accelerometer (TAG_SENSOR = tag >> 3 = 2) are stored as int16 x, y, z into dst from
    dst[dst_off]; others (a bit error, an empty-FIFO read) are skipped. Returns the sets stored."""
    d = ptr16(dst)
    s = ptr8(src)
    j = dst_off
    b = 0
    for i in range(nwords):
        if (s[b] >> 3) == 2:
            for a in range(3):
                v = s[b + 1 + 2 * a] | (s[b + 2 + 2 * a] << 8)
                if v & 0x8000:
                    v -= 0x10000
                d[j] = v
                j += 1
        b += 7
    return (j - dst_off) // 3


def detag_into_ref(dst, dst_off, src, nwords):
    """The plain-Python twin of detag_into (same arguments, same result)."""
    j = dst_off
    for i in range(nwords):
        b = 7 * i
        if src[b] >> 3 == 2:
            for a in range(3):
                v = src[b + 1 + 2 * a] | (src[b + 2 + 2 * a] << 8)
                dst[j] = v - 0x10000 if v & 0x8000 else v
                j += 1
    return (j - dst_off) // 3
