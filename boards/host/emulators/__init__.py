# Register-level emulators of the chips the node supports, for the host board.
