# Velocity by frequency-domain integration, and the ISO 10816-3 evaluation zones.
#
# Velocity RMS over a band [f_lo, f_hi] from the Hann-windowed acceleration spectrum X_k:
#   v_rms**2 = 16/3 / N**2 * sum_k |X_k|**2 / (2 pi f_k)**2          (single-sided, Hann power)
# computed on the device as sum_k p_k / k**2 in integers, per bin (spectrum.wsum; no weight
# table), times 1 / (2 pi df)**2 in result.velocity_rms.
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
