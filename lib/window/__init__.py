# window: acquisition of gap-free sample windows from an accelerometer FIFO.
