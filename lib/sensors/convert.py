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
