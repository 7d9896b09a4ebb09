# Velocity by frequency-domain integration, and the ISO 10816-3 evaluation zones.
#
# Velocity RMS over a band [f_lo, f_hi] from the Hann-windowed acceleration spectrum X_k:
#   v_rms**2 = 16/3 / N**2 * sum_k |X_k|**2 / (2 pi f_k)**2          (single-sided, Hann power)
# computed on the device as sum_k p_k * w_k with integer weights w_k = (f_ref / f_k)**2 in a
# mantissa/exponent form (mantissa Q15 in [16384, 32767], exponent e_k >= 0 meaning 2**-e_k),
# so that 100:1 band ratios keep full precision (spectrum.wsum).
import array
import math

G_MM_S2 = 9806.65  # standard gravity in mm/s**2

# ISO 10816-3 zone boundaries A/B, B/C, C/D in mm/s RMS (10-1000 Hz, or 2-1000 Hz below 600 rpm)
ZONES = {
    (2, "rigid"): (1.4, 2.8, 4.5),
    (2, "flexible"): (2.3, 4.5, 7.1),
    (1, "rigid"): (2.3, 4.5, 7.1),
    (1, "flexible"): (3.5, 7.1, 11.0),
}


def limits(group, foundation):
    key = (int(group), str(foundation))
    if key not in ZONES:
        raise ValueError("ISO 10816-3: group must be 1 or 2 and foundation rigid or flexible, got %r" % (key,))
    return ZONES[key]


def zone(v_mm_s, lim):
    """'A' below the first boundary, 'B' below the second, 'C' below the third, else 'D'."""
    if v_mm_s < lim[0]:
        return "A"
    if v_mm_s < lim[1]:
        return "B"
    if v_mm_s < lim[2]:
        return "C"
    return "D"


def weights(df, k0, k1):
    """Mantissa (array 'h') and exponent (bytearray) tables of w_k = (f_ref / f_k)**2 for the
    band's bins k0 <= k < k1 only (entry i is bin k0 + i; f_ref = k0 * df). Returns
    (wm, we, f_ref)."""
    if k0 < 1:
        k0 = 1
    nb = max(k1 - k0, 1)
    wm = array.array("h", range(nb))  # (no temporary bytes object of the same size)
    we = bytearray(nb)
    for i in range(nb):
        wm[i] = 0
    for k in range(k0, k1):
        w = (float(k0) / k) ** 2
        e = 0
        while w * (1 << (e + 1)) < 1.0 and e < 24:
            e += 1
        m = int(w * (1 << (15 + e)) + 0.5)
        if m > 32767:
            m = 32767
        wm[k - k0] = m
        we[k - k0] = e
    return wm, we, k0 * df
