#!/usr/bin/env python3
"""`make fleet-sim N=<count>`: N simulated nodes, one broker, the collector (and the dashboard).
See tools/vnmon/fleetsim.py."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vnmon.fleetsim import main  # noqa: E402

if __name__ == "__main__":
    main()
