# Replay of a vibration recording through the host board's accelerometer emulators.
#
# Format: a NumPy .npy file (format 1.0 or 2.0, little-endian, C order) of shape (n,) or (n, a)
# with a <= 3 columns = axes x, y, z; dtype '<i2' (counts, with "scale_g" g per count) or '<f4'
# (acceleration in g). The sample rate is not part of .npy, so the config names it:
#
#   "board": {"sim": {"recording": {"path": "cwru130.npy", "rate_hz": 12000,
#                                   "scale_g": 0.0005, "loop": true}}}
#
# (relative paths are relative to the node's working directory). Missing columns read as zero.
# `python3 boards/host/recording.py in.(npy|csv|mat) out.npy --rate 12000 [--key X130_DE_time]
# [--decimate 4]` converts a recording into this format on the host (int16 at a stated scale).
#
# The recording is resampled to the emulated chip's output data rate on the fly, as the chip's
# own digital filter would: a polyphase windowed-sinc low-pass (cutoff 0.45 x the lower of the
# two rates, 64 phases, 8 zero crossings a side), integer taps. Range and clipping are the
# chip emulator's (it converts micro-g to counts and saturates like the chip).
# Memory is bounded: the file is streamed through a small ring buffer (a few hundred samples per
# axis); sample(k, rate_mhz, out) allocates nothing (refills use preallocated buffers, float32 is
# decoded with integer arithmetic). Reading backwards (a chip restarting its sample counter)
# re-seeks the file.
import array
import math

try:
    import micropython
    from muldiv import muldiv
except ImportError:  # CPython, for the converter below
    class micropython:
        viper = staticmethod(lambda f: f)

AXES = 3
_PH = 64  # filter phases per input sample
_RING = 1024  # ring length per axis (power of two), > 2 * half-length + refill chunk
_CHUNK = 256  # samples per file read


@micropython.viper
def _dot(ring, start: int, mask: int, taps, toff: int, nt: int) -> int:
    """floor(sum(ring[(start + j) & mask] * taps[toff + j] for j < nt) / 2**15) (ring: int32 micro-g,
    taps: int16 Q15), exact with 32-bit words as well as 64-bit ones: each ring value is split at
    bit 15 so no product or partial sum passes 2**31; the low part's carry moves to the high sum as
    it goes. ptr32/ptr16 loads zero-extend on a 64-bit port, so signs are restored explicitly."""
    r = ptr32(ring)
    t = ptr16(taps)
    hi = 0
    lo = 0
    for j in range(nt):
        v = r[(start + j) & mask]
        v = (((((v >> 16) & 0xFFFF) ^ 0x8000) - 0x8000) << 16) | (v & 0xFFFF)
        w = (t[toff + j] ^ 0x8000) - 0x8000
        hi += (v >> 15) * w
        lo += (v & 0x7FFF) * w
        hi += lo >> 15
        lo &= 0x7FFF
    return hi


def _parse_header(f):
    magic = f.read(6)
    if magic != b"\x93NUMPY":
        raise ValueError("recording: not a .npy file")
    ver = f.read(2)
    if ver[0] == 1:
        hl = f.read(2)
        hlen = hl[0] | (hl[1] << 8)
        off = 10 + hlen
    else:
        hl = f.read(4)
        hlen = hl[0] | (hl[1] << 8) | (hl[2] << 16) | (hl[3] << 24)
        off = 12 + hlen
    h = f.read(hlen).decode()
    descr = h.split("'descr':")[1].split(",")[0].strip().strip("'\"")
    if "'fortran_order': True" in h:
        raise ValueError("recording: Fortran order is not supported")
    shape = h.split("'shape':")[1].split(")")[0].strip().lstrip("(")
    dims = [int(s) for s in shape.split(",") if s.strip()]
    if descr not in ("<i2", "<f4"):
        raise ValueError("recording: dtype must be <i2 or <f4, got %s" % descr)
    if not dims or len(dims) > 2 or (len(dims) == 2 and not 1 <= dims[1] <= 3):
        raise ValueError("recording: shape must be (n,) or (n, 1..3), got %r" % (dims,))
    return descr, dims[0], (dims[1] if len(dims) == 2 else 1), off


class Recording:
    def __init__(self, cfg, base_dir=None):
        path = cfg["path"]
        self.path = path
        self.rate_mhz = int(float(cfg["rate_hz"]) * 1000)
        self.loop = bool(cfg.get("loop", True))
        self.f = open(path, "rb")
        self.descr, self.n, self.cols, self.off = _parse_header(self.f)
        self.isize = 2 if self.descr == "<i2" else 4
        sc = cfg.get("scale_g")
        if self.descr == "<i2" and sc is None:
            raise ValueError("recording: int16 data needs scale_g (g per count)")
        self.sc_q16 = int(float(sc or 1.0) * 1e6 * 65536 + 0.5)  # micro-g per count, Q16
        self.ring = [array.array("i", bytes(4 * _RING)) for _ in range(AXES)]
        self.sc_hi = self.sc_q16 >> 14  # the scale split at bit 14: no product passes 2**30
        self.sc_lo = self.sc_q16 & 0x3FFF
        # float32 is read as 16-bit halves: an int32 holding its bits would be a big int on a 32-bit port
        self.ints = array.array("h" if self.isize == 2 else "H", bytes(_CHUNK * self.cols * self.isize))
        self.r0 = 0  # first input sample index held in the ring
        self.r1 = 0  # one past the last
        self.pos = -1  # file position in samples (-1: unknown)
        self._plan_rate = 0

    # ---- filter ------------------------------------------------------------------------------
    def _plan(self, rate_mhz):
        rin = self.rate_mhz
        fc = 0.45 * min(rin, rate_mhz) / rin  # cycles per input sample
        half = int(math.ceil(4.0 / fc))  # 8 zero crossings a side
        if 2 * half + _CHUNK + 8 > _RING:
            raise ValueError("recording: resampling ratio too large (%d -> %d mHz)" % (rin, rate_mhz))
        nt = 2 * half
        taps = array.array("h", bytes(2 * nt * _PH))
        for ph in range(_PH):
            frac = ph / _PH
            row = []
            for j in range(nt):
                t = j - (half - 1) - frac  # input sample (i - half + 1 + j) relative to u = i + frac
                x = 2 * fc * t
                s = 2 * fc * (math.sin(math.pi * x) / (math.pi * x) if x else 1.0)
                wpos = (t + half) / (2 * half)
                w = 0.42 - 0.5 * math.cos(2 * math.pi * wpos) + 0.08 * math.cos(4 * math.pi * wpos)
                row.append(s * w if 0 <= wpos <= 1 else 0.0)
            g = sum(row) or 1.0
            for j in range(nt):
                taps[ph * nt + j] = int(round(32767 * row[j] / g))
        self.taps = taps
        self.nt = nt
        self.half = half
        self._uq = rin * _PH // rate_mhz
        self._ur = rin * _PH % rate_mhz
        self._plan_rate = rate_mhz

    # ---- streaming ---------------------------------------------------------------------------
    def _seek(self, i):
        self.f.seek(self.off + i * self.cols * self.isize)
        self.pos = i

    def _refill(self, want_end):
        """Append input samples to the ring until it holds [.., want_end): whole chunks from the
        file (readinto a preallocated array), zeros before the start and after a non-looping end."""
        per = self.cols * self.isize
        while self.r1 < want_end:
            i = self.r1
            if i < 0 or (i >= self.n and not self.loop):
                self._zero(i)
                continue
            src = i % self.n
            if self.pos != src:
                self._seek(src)
            got = self.f.readinto(self.ints) // per
            if not got:
                self._zero(i)
                continue
            self.pos = src + got
            self._convert(i, got)
            self.r1 = i + got
            if self.r1 - self.r0 > _RING:
                self.r0 = self.r1 - _RING

    def _zero(self, i):
        m = _RING - 1
        for ax in range(AXES):
            self.ring[ax][i & m] = 0
        self.r1 = i + 1
        if self.r1 - self.r0 > _RING:
            self.r0 = self.r1 - _RING

    def _convert(self, i0, cnt):
        m = _RING - 1
        cols = self.cols
        src = self.ints
        for ax in range(AXES):
            ring = self.ring[ax]
            if ax >= cols:
                for j in range(cnt):
                    ring[(i0 + j) & m] = 0
                continue
            if self.isize == 2:
                # (c * sc_q16) >> 16 = (c * sc_hi + (c * sc_lo) >> 14) >> 2, exact
                sh = self.sc_hi
                sl = self.sc_lo
                for j in range(cnt):
                    c = src[j * cols + ax]
                    ring[(i0 + j) & m] = (c * sh + ((c * sl) >> 14)) >> 2
            else:
                for j in range(cnt):
                    i = 2 * (j * cols + ax)
                    ring[(i0 + j) & m] = _f32_ug(src[i], src[i + 1])

    # ---- the simulator interface -------------------------------------------------------------
    def sample(self, k, rate_mhz, out):
        """out[0..2] = acceleration in micro-g at sample k of a chip sampling at rate_mhz."""
        if rate_mhz != self._plan_rate:
            self._plan(rate_mhz)
            self.r0 = self.r1 = -(1 << 30)
            self.pos = -1
        # input position in 1/_PH samples: k * rate_in * _PH // rate_mhz, without big ints
        u = k * self._uq + muldiv(k, self._ur, rate_mhz)
        i = u // _PH
        ph = u - i * _PH
        start = i - self.half + 1
        end = start + self.nt
        if start < self.r0 or start > self.r1 + _RING:
            # backwards (the chip restarted its counter) or far ahead: restart the ring there
            self.r0 = self.r1 = start
            self.pos = -1
        if end > self.r1:
            self._refill(end)
        toff = ph * self.nt
        m = _RING - 1
        for ax in range(AXES):
            out[ax] = _dot(self.ring[ax], start, m, self.taps, toff, self.nt)

    def temperature_mc(self, t_us):
        return 35000


def _f32_ug(lo, hi):
    """IEEE-754 single (as its low and high 16-bit halves) to micro-g, in integer arithmetic (no
    float objects, and no big ints below 2**22 g)."""
    e = (hi >> 7) & 0xFF
    if e == 0 or e == 255:
        return 0
    mnt = ((hi & 0x7F) << 16) | lo | 0x800000
    sh = 150 - e  # value = mnt * 1e6 / 2**sh micro-g
    if sh <= 0:
        v = (mnt * 1000000) << -sh
    elif sh <= 29:
        v = muldiv(mnt, 1000000, 1 << sh)
    else:
        v = muldiv(mnt, 1000000, 1 << 29) >> (sh - 29)
    return -v if hi >> 15 else v


# ---- host-side conversion (CPython with numpy/scipy) -----------------------------------------
def _convert_main():
    import argparse
    import numpy as np
    ap = argparse.ArgumentParser(description="convert a recording to the host board's replay format")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--rate", type=float, required=True, help="sample rate of src, Hz")
    ap.add_argument("--key", action="append", help=".mat variable(s) to take as axes x, y, z")
    ap.add_argument("--decimate", type=int, default=1, help="decimate by this factor first (FIR)")
    ap.add_argument("--scale-g", type=float, default=1 / 2000.0, help="g per int16 count")
    ap.add_argument("--start", type=float, default=0.0, help="excerpt start, s")
    ap.add_argument("--seconds", type=float, default=0.0, help="excerpt length, s (0: all)")
    a = ap.parse_args()
    if a.src.endswith(".mat"):
        import scipy.io
        m = scipy.io.loadmat(a.src)
        keys = a.key or [k for k in m if k.endswith("_DE_time")][:1]
        data = np.stack([m[k].ravel() for k in keys], axis=1)
    elif a.src.endswith(".csv"):
        data = np.loadtxt(a.src, delimiter=",", ndmin=2)
    else:
        data = np.load(a.src)
        data = data.reshape(len(data), -1)
    rate = a.rate
    if a.decimate > 1:
        import scipy.signal
        data = scipy.signal.decimate(data, a.decimate, ftype="fir", axis=0)
        rate /= a.decimate
    i0 = int(a.start * rate)
    i1 = len(data) if not a.seconds else i0 + int(a.seconds * rate)
    data = data[i0:i1]
    counts = np.clip(np.round(data / a.scale_g), -32768, 32767).astype("<i2")
    np.save(a.dst, counts)
    print("%s: %d samples x %d axes at %g Hz, int16 at %g g per count" % (a.dst, len(counts), counts.shape[1], rate,
                                                                         a.scale_g))


if __name__ == "__main__":
    _convert_main()
