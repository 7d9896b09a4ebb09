# The envelope band found from a full-rate spectrum: the structural resonance that bearing defects
# ring, as the band of highest excess energy within 1-10 kHz. Run once at start and on request
# (vibenode/wideband.py: loaded for the search and dropped after); floating point, allocates.
#
#   e = levels(p, df, k, o, scale, rate)    energy per 500 Hz band from 1 kHz (p: power spectrum)
#   lo, hi, how = find(e, learned)          the band in Hz, and "learned" or "floor"
#
# Excess energy of each 500 Hz band: over the learned level (the lowest energy seen in that band
# since the node started: a defect only adds energy) when some band rose at least 4x (6 dB) above
# it, else over the spectrum's own floor (the median band) when some band stands 4x (6 dB) over
# that floor. The band is the band of highest excess,
# grown towards its stronger neighbour while that neighbour's excess is at least a quarter of the
# peak's (-6 dB), 1 to 4 kHz wide and at least a fifth of its top edge. A spectrum without excess
# anywhere gives None (keep the band).
LO = 1000
HI = 10000
STEP = 500
MIN_W = 2  # bands (1 kHz)
MAX_W = 8  # bands (4 kHz)


def levels(p, df, k, o, scale, rate):
    """Energy per STEP Hz band from LO up to min(HI, 0.45 x rate), in p's units x scale."""
    top = min(HI, 0.45 * rate)
    out = []
    f = LO
    m = len(p) - 1
    while f + STEP <= top + 1e-6:
        a = int(f / df + 0.5)
        b = min(m, int((f + STEP) / df + 0.5))
        if a >= b:
            break
        k.band_sum(p, a, b, o)
        out.append((o[0] * 65536.0 + o[1]) * scale)
        f += STEP
    return out


def learn(learned, e):
    """The lowest level seen per band (a list, updated in place, or a new one)."""
    if learned is None or len(learned) != len(e):
        return list(e)
    for i in range(len(e)):
        if e[i] < learned[i]:
            learned[i] = e[i]
    return learned


def find(e, learned=None):
    """(lo Hz, hi Hz, "learned" | "floor") of the band of highest excess energy, or None."""
    nb = len(e)
    if nb < MIN_W:
        return None
    how = "floor"
    x = None
    if learned is not None and len(learned) == nb:
        x = [e[i] - learned[i] for i in range(nb)]
        if max(e[i] / learned[i] if learned[i] > 0 else 0.0 for i in range(nb)) >= 4.0:
            how = "learned"
        else:
            x = None
    if x is None:
        floor = sorted(e)[nb // 2]
        if max(e) < 4.0 * floor:
            return None  # no band stands 6 dB over the floor (noise): no resonance to be seen
        x = [v - floor for v in e]
    j = 0
    for i in range(nb):
        if x[i] > x[j]:
            j = i
    if x[j] <= 0:
        return None
    a = b = j
    while b - a + 1 < MAX_W:
        left = x[a - 1] if a > 0 else None
        right = x[b + 1] if b + 1 < nb else None
        # wide enough: 1 kHz and lo < 0.8 hi (features/stream.py widens narrower bands to an octave)
        wide = b - a + 1 >= MIN_W and LO + a * STEP < 0.8 * (LO + (b + 1) * STEP)
        if right is None or (left is not None and left >= right):
            if left is None or (left < x[j] / 4 and wide):
                break
            a -= 1
        else:
            if right < x[j] / 4 and wide:
                break
            b += 1
    return LO + a * STEP, LO + (b + 1) * STEP, how
