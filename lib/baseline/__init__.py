# Baseline learning and anomaly judging (issue 12): model.py (the per-node state), kernel.py
# (viper kernels) and twin.py (their plain-Python twins, bit-exact).
