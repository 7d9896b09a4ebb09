# sensors: accelerometer and temperature drivers for vibenode (bus injected, allocation-free
# burst reads). See accel.py for the common accelerometer contract.
