# CRC-32 (IEEE, as binascii.crc32) for ports built without binascii.crc32; the queue loads it
# only there.


def crc32(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
