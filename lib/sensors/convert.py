# Byte-to-sample copies for FIFO bursts, in viper: no per-sample objects.
import micropython


@micropython.viper
def le16_into(dst, dst_off: int, src, nwords: int, shift: int):
    """dst[dst_off + i] = int16 little-endian word i of src, arithmetically shifted right by
    `shift` (for left-justified data), for i < nwords. dst is an array('h')."""
    d = ptr16(dst)
    s = ptr8(src)
    for i in range(nwords):
        v = s[2 * i] | (s[2 * i + 1] << 8)
        if v & 0x8000:
            v -= 0x10000
        d[dst_off + i] = v >> shift


@micropython.viper
def be16_into(dst, dst_off: int, src, nwords: int, shift: int):
    """As le16_into for big-endian words (MPU-6050)."""
    d = ptr16(dst)
    s = ptr8(src)
    for i in range(nwords):
        v = (s[2 * i] << 8) | s[2 * i + 1]
        if v & 0x8000:
            v -= 0x10000
        d[dst_off + i] = v >> shift


@micropython.viper
def be24_axes_into(dst, dst_off: int, src, nsets: int) -> int:
    """ADXL355 FIFO: nsets x (X, Y, Z) entries of 3 bytes each (20-bit two's complement in
    bits 23:4, bit 1 = empty, bit 0 = X-axis marker). Stores bits 19:4 (the data >> 4) as int16
    into dst[dst_off + 3 * i + axis]. Returns the number of complete, well-framed sets: it stops
    at the first empty entry or marker out of place (X marker on Y/Z, none on X)."""
    d = ptr16(dst)
    s = ptr8(src)
    for i in range(nsets):
        b = 9 * i
        if (s[b + 2] & 3) != 1 or (s[b + 5] & 3) != 0 or (s[b + 8] & 3) != 0:
            return i
        o = dst_off + 3 * i
        for a in range(3):
            v = (s[b + 3 * a] << 8) | s[b + 3 * a + 1]
            if v & 0x8000:
                v -= 0x10000
            d[o + a] = v
    return nsets

