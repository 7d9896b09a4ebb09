# Shared pieces of the ESP32-family boards.
