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
#   vary           time-varying machine (emulated time t in s; re-planned every second, phases
#                  kept continuous): {"wander_pct": 2.0, "wander_s": 300: speed +-2 % sine,
#                  "after_s": 600, "imbalance_g_per_min": [0.05, 0.05, 0]: imbalance grows,
#                  "bearing_g_per_min": 0.2: a bearing defect (bearing section's shape) grows
#                  from 0, "stops": [[t0, t1], ...]: the machine stands still}
#   recording      {"path": "x.npy", "rate_hz": 12000, "scale_g": 0.0005, "loop": true}: replay a
#                  recording instead of the synthetic machine (format: recording.py)
import array
import math

import micropython

from muldiv import mulmod

AXES = 3
_SIN_BITS = 12
_SIN_N = 1 << _SIN_BITS
_PH_BITS = 32
_PH_MASK = (1 << _PH_BITS) - 1

_sin = None


def _sin_table():
    global _sin
    if _sin is None:
        _sin = array.array("h", bytes(2 * _SIN_N))
        for i in range(_SIN_N):
            _sin[i] = int(round(32767 * math.sin(2 * math.pi * i / _SIN_N)))
    return _sin


# The per-sample arithmetic is viper over 32-bit words, written so that a 64-bit port (where viper
# ints and ptr32 loads are 64-bit, zero-extended) and a 32-bit one (ESP32-like: 31-bit small ints,
# 32-bit viper ints) give the same numbers without allocating: phases wrap mod 2**32 and only their
# bits 20..31 are used, products that would pass 2**31 are split at bit 15.
@micropython.viper
def _tones(k: int, out, comps, n: int, sin):
    """out[ax] += (amp * sin[phase >> 20]) >> 15 for each (inc, p0, ax, amp) of comps, phase =
    (k * inc + p0) mod 2**32."""
    o = ptr32(out)
    c = ptr32(comps)
    t = ptr16(sin)
    for i in range(n):
        b = 4 * i
        idx = ((k * c[b] + c[b + 1]) >> 20) & 0xFFF
        sv = (t[idx] ^ 0x8000) - 0x8000
        amp = c[b + 3]
        amp = (((((amp >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (amp & 0xFFFF)  # sign-extend 32 bits
        ax = c[b + 2]
        o[ax] = o[ax] + (amp >> 15) * sv + (((amp & 0x7FFF) * sv) >> 15)


@micropython.viper
def _noise(k: int, out, amps, seed: int):
    """out[ax] += (amp * u) >> 16, u triangular in [-65535, 65535] from an integer hash of (k, ax, seed)."""
    o = ptr32(out)
    nz = ptr32(amps)
    for ax in range(3):
        a = nz[ax]
        a = (((((a >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (a & 0xFFFF)  # sign-extend 32 bits
        if a:
            # (x & 0xFFFF0000) | (x & 0xFFFF) keeps 32 bits on a 64-bit port, is x on a 32-bit one
            h = k * 3 + ax
            h = ((((h >> 16) & 0xFFFF) << 16) | (h & 0xFFFF)) ^ (seed << 16)
            h = h * 0x45D9F3B
            h = (((h >> 16) & 0xFFFF) << 16) | (h & 0xFFFF)
            h = h ^ ((h >> 16) & 0xFFFF)
            h = h * 0x45D9F3B
            h = (((h >> 16) & 0xFFFF) << 16) | (h & 0xFFFF)
            h = h ^ ((h >> 16) & 0xFFFF)
            u = (h & 0xFFFF) + ((h >> 16) & 0xFFFF) - 65535
            o[ax] = o[ax] + (((a >> 15) * u + (((a & 0x7FFF) * u) >> 15)) >> 1)


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
        self.noise = array.array("i", [int(s * 1e6 / 0.8165) for s in _vec(cfg.get("noise_g"), 0.01)])
        t = cfg.get("temperature") or {}
        self.temp_start = float(t.get("start_c", 35.0))
        self.temp_drift = float(t.get("drift_c_per_h", 0.5))
        self._rate = 0
        self.comps = []
        self.rec = None
        self.vary = cfg.get("vary")
        self._next_k = 0
        if self.vary:
            self.base = cfg
            self.rpm0 = self.rpm
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
        flat = array.array("i", bytes(16 * len(comps)))
        for i, (inc, p0, ax, amp) in enumerate(comps):
            flat[4 * i] = inc - (1 << 32) if inc >= 1 << 31 else inc  # the same 32 bits, as int32
            flat[4 * i + 1] = p0 - (1 << 32) if p0 >= 1 << 31 else p0
            flat[4 * i + 2] = ax
            flat[4 * i + 3] = amp
        self._comps = flat
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

    def _vary(self, k, rate_mhz):
        v = self.vary
        b = self.base
        t = k * 1000.0 / rate_mhz
        self._next_k = k + rate_mhz // 1000
        cfg = dict(b)
        rpm = self.rpm0
        if v.get("wander_pct"):
            rpm *= 1 + v["wander_pct"] / 100.0 * math.sin(2 * math.pi * t / v.get("wander_s", 300))
        dt = max(0.0, t - v.get("after_s", 0)) / 60.0
        if v.get("imbalance_g_per_min"):
            g0 = _vec(b.get("imbalance_g"), [0.5, 0.5, 0.1])
            g1 = _vec(v["imbalance_g_per_min"], 0.0)
            cfg["imbalance_g"] = [g0[i] + g1[i] * dt for i in range(AXES)]
        if v.get("bearing_g_per_min"):
            br = dict(b.get("bearing") or {})
            br["impulse_g"] = v["bearing_g_per_min"] * dt
            cfg["bearing"] = br if dt > 0 else None
        for t0, t1 in v.get("stops", ()):
            if t0 <= t < t1:
                cfg["imbalance_g"] = cfg["misalign_g"] = 0.0
                cfg["harmonics"] = []
                cfg["bearing"] = None
        old = [(c[0], c[1]) for c in self.comps]
        self.cfg = cfg
        self.rpm = rpm
        self._plan(rate_mhz)
        if len(old) == len(self.comps):  # the same tones: phases continue where they were
            fl = self._comps
            for i in range(len(old)):
                inc = self.comps[i][0]
                p0 = (k * old[i][0] + old[i][1] - k * inc) & _PH_MASK
                fl[4 * i + 1] = p0 - (1 << 32) if p0 >= 1 << 31 else p0
                self.comps[i] = (inc, p0) + tuple(self.comps[i][2:])

    # ---- the signal ------------------------------------------------------------------------
    def sample(self, k, rate_mhz, out):
        """Fill out[0..2] with the acceleration in micro-g at sample k."""
        if self.rec is not None:
            self.rec.sample(k, rate_mhz, out)
            return
        if rate_mhz != self._rate:
            self._plan(rate_mhz)
        if self.vary is not None and k >= self._next_k:
            self._vary(k, rate_mhz)
        g = self.grav
        out[0] = g[0]
        out[1] = g[1]
        out[2] = g[2]
        _tones(k, out, self._comps, len(self.comps), self.sin)
        if self.b_resp is not None:
            # samples since the last defect impulse: impulse m is at ceil(m * R / fd), so the
            # distance is ((k * fd) mod R) // fd (exact, and no big int on a 32-bit port)
            fd = self.b_fd_mhz
            j = mulmod(k, fd, rate_mhz) // fd
            if j < self.b_len:
                r = self.b_resp
                out[0] += r[0][j]
                out[1] += r[1][j]
                out[2] += r[2][j]
        _noise(k, out, self.noise, self.seed)

    def temperature_mc(self, t_us):
        """Machine surface temperature in milli-degrees C at emulated time t_us."""
        return int((self.temp_start + self.temp_drift * (t_us / 3600e6)) * 1000)
