# Machine simulator: the rotating machine the host board's sensors are bolted to.
#
# sample(k, rate_mhz, out) gives the acceleration (micro-g, x/y/z) at sample index k of a chip
# sampling at rate_mhz (milli-hertz). It is random-access and integer-only (direct digital
# synthesis from a sine table, hashed noise, a precomputed bearing impulse response), so an
# emulator reading it allocates nothing and the whole host world fits in a small heap.
#
# Config (section board.sim of the node config), all optional:
#   rpm            shaft speed                                   (1480)
#   imbalance_g    [x, y, z] peak g at 1x                        ([0.5, 0.5, 0.1])
#   misalign_g     [x, y, z] peak g at 2x                        ([0, 0, 0])
#   harmonics      [[order, [gx, gy, gz]], ...] other shaft orders (or any multiple)
#   bearing        {"multiple": 3.5848, "impulse_g": 3.0, "resonance_hz": 2500,
#                   "decay_ms": 1.0, "axes": [1, 1, 0.5]}: defect impulses ringing a resonance
#   noise_g        RMS of white noise, a number or [x, y, z]    (0.01)
#   gravity_g      [x, y, z] static acceleration                 ([0, 0, 1])
#   temperature    {"start_c": 35.0, "drift_c_per_h": 0.5}
#   recording      {"path": "x.npy", "rate_hz": 12000, "scale_g": 0.0005, "loop": true}: replay a
#                  recording instead of the synthetic machine (format: recording.py)
import array
import math

AXES = 3
_SIN_BITS = 12
_SIN_N = 1 << _SIN_BITS
_PH_BITS = 32
_PH_MASK = (1 << _PH_BITS) - 1
_PH_SHIFT = _PH_BITS - _SIN_BITS
_MASK32 = 0xFFFFFFFF

_sin = None


def _sin_table():
    global _sin
    if _sin is None:
        _sin = array.array("h", bytes(2 * _SIN_N))
        for i in range(_SIN_N):
            _sin[i] = int(round(32767 * math.sin(2 * math.pi * i / _SIN_N)))
    return _sin


def _vec(v, default):
    if v is None:
        v = default
    if not isinstance(v, (list, tuple)):
        v = [v] * AXES
    return [float(v[i]) if i < len(v) else 0.0 for i in range(AXES)]


class MachineSim:
    def __init__(self, cfg=None):
        cfg = cfg or {}
        self.cfg = cfg
        self.sin = _sin_table()
        self.seed = int(cfg.get("seed", 1)) & 0xFFFF
        self.set_rpm(float(cfg.get("rpm", 1480)))
        self.grav = [int(g * 1e6) for g in _vec(cfg.get("gravity_g"), [0.0, 0.0, 1.0])]
        # noise: sum of two uniforms in [-1, 1) has RMS sqrt(2/3); amplitude per axis in micro-g
        self.noise = [int(s * 1e6 / 0.8165) for s in _vec(cfg.get("noise_g"), 0.01)]
        t = cfg.get("temperature") or {}
        self.temp_start = float(t.get("start_c", 35.0))
        self.temp_drift = float(t.get("drift_c_per_h", 0.5))
        self._rate = 0
        self.comps = []
        self.rec = None
        if cfg.get("recording"):
            from recording import Recording
            self.rec = Recording(cfg["recording"])

    def set_rpm(self, rpm):
        self.rpm = rpm
        self._rate = 0  # forces a re-plan at the next sample

    # ---- planning: per-rate phase increments and impulse response --------------------------
    def _plan(self, rate_mhz):
        cfg = self.cfg
        rate = rate_mhz / 1000.0
        f1 = self.rpm / 60.0
        comps = []  # [phase_inc, phase0, ax_amp_ug x3]
        parts = [(1.0, _vec(cfg.get("imbalance_g"), [0.5, 0.5, 0.1]), 0.0),
                 (2.0, _vec(cfg.get("misalign_g"), 0.0), 0.7)]
        for order, gains in cfg.get("harmonics", []):
            parts.append((float(order), _vec(gains, 0.0), 1.3 * float(order)))
        for order, gains, ph in parts:
            f = order * f1
            if f >= rate / 2:
                continue  # the chip's anti-alias filter removes it
            inc = int(f / rate * (1 << _PH_BITS)) & _PH_MASK
            for ax in range(AXES):
                if gains[ax]:
                    p0 = int(((ph * (ax + 1)) / (2 * math.pi)) % 1.0 * (1 << _PH_BITS)) & _PH_MASK
                    comps.append((inc, p0, ax, int(gains[ax] * 1e6)))
        self.comps = comps
        b = cfg.get("bearing")
        self.b_resp = None
        if b:
            fd = float(b.get("multiple", 3.5848)) * f1
            amp = float(b.get("impulse_g", 2.0))
            fres = float(b.get("resonance_hz", 2500.0))
            if fres >= rate / 2:
                fres = rate * 0.3
            decay = float(b.get("decay_ms", 1.0)) / 1000.0
            axes = _vec(b.get("axes"), [1.0, 1.0, 0.5])
            n = int(6 * decay * rate) + 1
            resp = []
            for ax in range(AXES):
                col = array.array("i", bytes(4 * n))
                for j in range(n):
                    tt = j / rate
                    col[j] = int(amp * axes[ax] * 1e6 * math.exp(-tt / decay) * math.sin(2 * math.pi * fres * tt))
                resp.append(col)
            self.b_resp = resp
            self.b_len = n
            self.b_fd_mhz = int(fd * 1000)
        self._rate = rate_mhz

    # ---- the signal ------------------------------------------------------------------------
    def sample(self, k, rate_mhz, out):
        """Fill out[0..2] with the acceleration in micro-g at sample k."""
        if self.rec is not None:
            self.rec.sample(k, rate_mhz, out)
            return
        if rate_mhz != self._rate:
            self._plan(rate_mhz)
        sin = self.sin
        g = self.grav
        out[0] = g[0]
        out[1] = g[1]
        out[2] = g[2]
        for inc, p0, ax, amp in self.comps:
            ph = (k * inc + p0) & _PH_MASK
            out[ax] += (amp * sin[ph >> _PH_SHIFT]) >> 15
        if self.b_resp is not None:
            fd = self.b_fd_mhz
            m = (k * fd) // rate_mhz
            start = (m * rate_mhz + fd - 1) // fd
            j = k - start
            if 0 <= j < self.b_len:
                r = self.b_resp
                out[0] += r[0][j]
                out[1] += r[1][j]
                out[2] += r[2][j]
        nz = self.noise
        for ax in range(AXES):
            a = nz[ax]
            if a:
                # integer hash of (k, axis, seed); every product stays below 2**62 (small ints)
                h = ((((k * 3 + ax) & _MASK32) ^ (self.seed << 16)) * 0x45D9F3B) & _MASK32
                h ^= h >> 16
                h = (h * 0x45D9F3B) & _MASK32
                h ^= h >> 16
                u = (h & 0xFFFF) + ((h >> 16) & 0xFFFF) - 65535  # triangular in [-65535, 65535]
                out[ax] += (a * u) >> 16

    def temperature_mc(self, t_us):
        """Machine surface temperature in milli-degrees C at emulated time t_us."""
        return int((self.temp_start + self.temp_drift * (t_us / 3600e6)) * 1000)
