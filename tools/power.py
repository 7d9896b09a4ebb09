#!/usr/bin/env python3
"""Battery life of a sleepy node (power.mode "sleep", docs/power.md) from its measured awake time.

    .venv/bin/python tools/power.py                         # the figures of docs/power.md
    .venv/bin/python tools/power.py --awake-ms 640 --battery-mah 3000 --sleep-ua 10
    .venv/bin/python tools/power.py --log node.log          # awake time: median of the node's own
                                                            # "duty: wake N awake X ms" log lines

One cycle = boot + the awake time the node measured (its board clock from boot to deep sleep; on
the host emulated: sampling the window, waits) + Wi-Fi association and DHCP + the MQTT exchange,
then deep sleep for the rest of the interval. Currents are the ESP32 datasheet's (Espressif, ESP32
Series Datasheet, "Power Consumption by Power Modes" and "RF Power-Consumption Specifications":
https://www.espressif.com/sites/default/files/documentation/esp32_datasheet_en.pdf); the phase
times the host cannot measure (boot, Wi-Fi association, air time) are stated assumptions, each a
flag. Prints a Markdown table.
"""
import argparse
import re
import statistics
import sys

WAKE = re.compile(r"duty: wake \d+ awake (\d+) ms")

# (flag, default, unit, what, source)
CURRENTS = [
    ("sleep_ua", 10.0, "uA", "deep sleep, RTC timer + RTC memory on", "ESP32 datasheet, power modes: 10 uA"),
    ("sensor_ua", 140.0, "uA", "the accelerometer, still measuring while the chip sleeps (the node does not put it in "
     "standby yet; 0.1 uA when it does)", "ADXL345 datasheet: 140 uA at ODR >= 100 Hz, standby 0.1 uA"),
    ("cpu_ma", 50.0, "mA", "CPU at 240 MHz, radio off (boot, sampling, features)",
     "ESP32 datasheet, modem-sleep 240 MHz: 30-68 mA"),
    ("wifi_ma", 120.0, "mA", "Wi-Fi association + DHCP (mostly RX/listen, TX bursts)",
     "ESP32 datasheet, RX/listen 95-100 mA, TX 160-260 mA (802.11b 19.5 dBm: 240 mA)"),
    ("mqtt_ma", 110.0, "mA", "MQTT exchange (listen, short TX)", "as above"),
]
TIMES = [
    ("boot_ms", 500, "ms", "ROM + bootloader + MicroPython start + imports", "assumption (not measured here)"),
    ("compute_ms", 200, "ms", "features of one window on a 240 MHz ESP32 (the host's emulated clock does not count "
     "compute)", "assumption; `make bench` prints its ESP32 estimate per window: put that here"),
    ("wifi_ms", 1500, "ms", "Wi-Fi association + DHCP", "assumption: 1-3 s typical, less with a static IP"),
    ("mqtt_ms", 300, "ms", "TCP + CONNECT/SUBSCRIBE/PUBLISH/status round trips on plant Wi-Fi",
     "assumption: 5 round trips x ~20 ms + airtime, rounded up"),
]


def cycle(a, interval_s):
    """(average current mA, awake s, charge per cycle mAs)"""
    phases = [(a.boot_ms, a.cpu_ma), (a.awake_ms, a.cpu_ma), (a.compute_ms, a.cpu_ma), (a.wifi_ms, a.wifi_ma), (a.mqtt_ms, a.mqtt_ma)]
    awake_s = sum(t for t, _ in phases) / 1000.0
    q = sum(t / 1000.0 * i for t, i in phases) + max(0.0, interval_s - awake_s) * (a.sleep_ua + a.sensor_ua) / 1000.0
    return q / interval_s, awake_s, q


def table(a, intervals=(60, 600, 3600)):
    cap = a.battery_mah * a.derate
    out = ["| interval | awake per cycle | charge per cycle | average current | battery life |"
           " with a dev board's %.1f mA in sleep |" % a.board_sleep_ma,
           "|---|---|---|---|---|---|"]
    for iv in intervals:
        avg, awake_s, q = cycle(a, iv)
        dev = avg + a.board_sleep_ma * max(0.0, iv - awake_s) / iv
        out.append("| %d min | %.2f s | %.1f mAs | %.3f mA | %s | %s |" % (iv // 60, awake_s, q, avg, life(cap / avg),
                                                                      life(cap / dev)))
    return "\n".join(out)


def life(hours):
    d = hours / 24.0
    return "%.1f years" % (d / 365.0) if d >= 365 else "%.0f days" % d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--awake-ms", type=float, default=640.0,
                    help="the node's measured awake time per cycle (tests/test_power_sleep.py; default 640 ms)")
    ap.add_argument("--log", help="take --awake-ms as the median of a node log's duty lines")
    for name, dflt, unit, what, src in CURRENTS + TIMES:
        ap.add_argument("--" + name.replace("_", "-"), type=float, default=dflt, help="%s (%s; %s)" % (what, unit, src))
    ap.add_argument("--battery-mah", type=float, default=3000.0, help="battery capacity (2x AA lithium: ~3000 mAh)")
    ap.add_argument("--derate", type=float, default=0.8, help="usable share (cut-off voltage, cold, self-discharge)")
    ap.add_argument("--board-sleep-ma", type=float, default=5.0,
                    help="what a dev board adds in deep sleep (AMS1117 regulator quiescent 5 mA typ.; USB-UART)")
    a = ap.parse_args(argv)
    if a.log:
        with open(a.log) as f:
            v = [int(m.group(1)) for m in WAKE.finditer(f.read())]
        if not v:
            sys.exit("power: no 'duty: wake N awake X ms' lines in %s" % a.log)
        a.awake_ms = statistics.median(v)
    print("awake per cycle measured by the node: %.0f ms; battery %.0f mAh x %.2f usable\n" %
          (a.awake_ms, a.battery_mah, a.derate))
    print(table(a))
    print("\nassumed:")
    for name, dflt, unit, what, src in CURRENTS + TIMES:
        print("- %s = %s %s: %s (%s)" % (name, getattr(a, name), unit, what, src))
    return 0


if __name__ == "__main__":
    sys.exit(main())
