# features: on-device vibration analytics. Viper kernels over integer fixed point (precompiled
# by mpy-cross) with a plain-Python twin of each kernel (features/reference.py) as reference
# and fallback.
