# Rolling-element bearing defect frequencies, as multiples of the shaft frequency.
#
# From the geometry (n rolling elements of diameter d on pitch diameter D, contact angle phi,
# outer race fixed, inner race turning with the shaft):
#   FTF  = 1/2 (1 - d/D cos phi)                 cage (fundamental train)
#   BPFO = n/2 (1 - d/D cos phi)                 ball pass, outer race
#   BPFI = n/2 (1 + d/D cos phi)                 ball pass, inner race
#   BSF  = D/(2d) (1 - (d/D cos phi)**2)         ball spin
# (SKF 6205: n = 9, d = 7.94 mm, D = 39.04 mm -> BPFO 3.585, BPFI 5.415, BSF 2.357, FTF 0.398.)
import math

DEFECTS = ("BPFO", "BPFI", "BSF", "FTF")


def multiples_from_geometry(balls, ball_d, pitch_d, angle_deg=0.0):
    if balls <= 0 or ball_d <= 0 or pitch_d <= ball_d:
        raise ValueError("bearing geometry: need balls > 0 and 0 < ball_d < pitch_d")
    r = ball_d / pitch_d * math.cos(math.radians(angle_deg))
    return {"BPFO": balls / 2.0 * (1 - r), "BPFI": balls / 2.0 * (1 + r),
            "BSF": pitch_d / (2.0 * ball_d) * (1 - r * r), "FTF": 0.5 * (1 - r)}


def multiples(cfg):
    """Defect multiples from a `bearing` config: {"multiples": {"BPFO": 3.5848, ...}} or
    {"geometry": {"balls": 9, "ball_d": 7.94, "pitch_d": 39.04, "angle": 0}}; None if absent."""
    if not cfg:
        return None
    if "geometry" in cfg:
        g = cfg["geometry"]
        return multiples_from_geometry(g["balls"], g["ball_d"], g["pitch_d"], g.get("angle", 0.0))
    m = cfg.get("multiples", cfg)
    out = {}
    for k in DEFECTS:
        if k in m:
            v = float(m[k])
            if v <= 0:
                raise ValueError("bearing multiple %s must be positive" % k)
            out[k] = v
    return out or None
