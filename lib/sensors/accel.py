# The accelerometer contract every driver in this package keeps, and helpers they share.
#
# A driver is constructed on a register adapter (sensors.regbus.I2CRegs / SPIRegs), checks the
# chip's ID register (SensorError "absent" / "wrong_id" otherwise), and exposes:
#
#   NAME            "adxl345", "lis3dh", "mpu6050", "adxl355"
#   FIFO_DEPTH      samples (x, y, z sets) the chip's FIFO holds
#   MAX_RATE        highest output data rate, Hz
#   INT_WATERMARK   True if the driver routes the FIFO watermark to the chip's INT1 pin
#   configure(rate, range_g, watermark=16)
#                   ODR rounded up to the nearest supported one (the largest if above), range
#                   rounded up likewise; FIFO in stream mode; measuring. Verifies by read-back
#                   (SensorError "config_rejected").
#   rate, range_g   what configure() chose (Hz, g)
#   scale           g per count of what read_fifo() writes
#   watermark       FIFO level (samples) at which the chip raises its watermark flag / INT1
#   fifo_level()    samples waiting in the FIFO (SensorError "fifo_corrupt" if the status is
#                   impossible: a stuck MISO reads 0xFF, a flipped bit can give nonsense)
#   overrun()       True if the FIFO lost samples since the last call (counted in .overruns).
#                   Chips that clear their overrun flag when the FIFO is read (ADXL345, LIS3DH)
#                   have it latched by read_fifo(); the MPU-6050's FIFO is reset on overflow
#                   (its 6-byte framing is lost) before anything misframed is read.
#   read_fifo(buf, n, offset=0) -> count
#                   pops up to n samples into buf (array('h')), x, y, z interleaved, starting
#                   at sample `offset` (element 3 * offset). Allocates nothing. Sets .level to
#                   the FIFO level it saw before reading (the sampler's clock for the rate).
#   self_test(sleep_ms) -> (ok, deltas)
#                   the datasheet's self-test: output change with the electrostatic force on,
#                   checked against the datasheet limits; reconfigures the chip afterwards.
#   die_temp_c()    (ADXL355, MPU-6050) die temperature in degrees C
#
# The common sample format is int16 per axis. Chips with wider data are narrowed, never
# clipped: the ADXL355's 20-bit samples are stored as bits 19:4 (data >> 4), so its scale is
# 16 x its datasheet LSB (3.9 ug x 16 = 62.4 ug per count at +-2.048 g).
# check_id (the ID register check) lives in sensors/errors.py, which a running node keeps loaded:
# a driver that needs nothing else from here at run time (ADXL345) does not keep this module.
from sensors.errors import check_id  # noqa: F401  (drivers import it from here too)


def round_up(options, want):
    """Index of the smallest option >= want (options ascending), else of the largest."""
    for i in range(len(options)):
        if options[i] >= want:
            return i
    return len(options) - 1


def views(buf, step, n):
    """Preallocated memoryviews buf[:step * k] for k = 0..n, so that a burst of k samples can be
    read with readfrom_mem_into / readinto without slicing (a slice allocates)."""
    mv = memoryview(buf)
    return [mv[:step * k] for k in range(n + 1)]


def fifo_average(acc, n, wait, poll_ms=5):
    """Mean x, y, z counts of the next n samples from the driver's FIFO (for self-tests: this
    allocates, it is not a hot path)."""
    import array
    b = array.array("h", bytes(6 * n))
    got = 0
    while got < n:
        k = acc.read_fifo(b, n - got, got)
        got += k
        if not k:
            wait(poll_ms)
    return tuple(sum(b[3 * i + a] for i in range(n)) // n for a in range(3))


def sleep_ms(ms):
    """Default wait for drivers when the caller gives no (board clock) sleep function."""
    import time
    time.sleep_ms(ms)
