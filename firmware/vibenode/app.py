# The node: boot -> config -> board -> sensors -> (acquire -> compute -> report)* forever.
#
# Data path: sensors (lib/sensors) -> window (lib/window) -> features (lib/features)
#            -> report (lib/report) -> link (lib/link).
# Measurement never waits for the network beyond the link's bounded socket timeouts, and no
# error escapes the loop: a missing sensor or a dead broker is reported on status and retried.
import gc
import json

import board as board_mod
from vibenode import VERSION, config, log as logm
from vibenode.log import log


def topic(cfg, leaf):
    m = cfg["mqtt"]
    return "%s/%s/%s/%s" % (m["prefix"], cfg["site"], cfg["node_id"], leaf)


class Node:
    def __init__(self, cfg, board, ssl=None):
        self.cfg = cfg
        self.board = board
        self.clock = board.clock
        logm.clock = self.clock
        s = cfg["sampling"]
        self.n = s["window"]
        self.interval_ms = int(s["interval_s"] * 1000)
        self.seq = 0
        self.accel = None
        self.sampler = None
        self.engine = None
        self.errors = {}
        self.sensor_retry_ms = 1000
        self._sensor_next = self.clock.ticks_ms()
        m = cfg["mqtt"]
        from link.mqtt import MqttLink
        self.t_status = topic(cfg, "status")
        self.t_telemetry = topic(cfg, "telemetry")
        self.link = MqttLink(cfg["node_id"], m["host"], m["port"], self.clock, keepalive=m.get("keepalive", 30),
                             user=m.get("user"), password=m.get("password"),
                             will_topic=self.t_status, will_msg=json.dumps({"state": "offline", "node": cfg["node_id"]}),
                             timeout_s=m.get("timeout_s", 5), ssl=ssl, log=log)
        self.link.on_up = self._on_link_up

    # ---- status --------------------------------------------------------------------------
    def status(self, state="online"):
        st = {"state": state, "node": self.cfg["node_id"], "fw": VERSION, "board": self.board.NAME,
              "sensors": [self.accel.NAME + "@" + self.accel.regs.describe()] if self.accel else [],
              "engine": self.engine.impl if self.engine else None, "errors": self.errors,
              "reset_cause": self.board.reset_cause(), "config": config.status()}
        return json.dumps(st)

    def _on_link_up(self, link):
        log("link", "connected to %s:%d" % (link.host, link.port))
        link.publish(self.t_status, self.status(), retain=True, qos=1)

    def set_error(self, key, msg):
        if self.errors.get(key) != msg:
            self.errors[key] = msg
            log("error", key, msg)
            self.link.publish(self.t_status, self.status(), retain=True, qos=1)

    def clear_error(self, key):
        if key in self.errors:
            del self.errors[key]
            self.link.publish(self.t_status, self.status(), retain=True, qos=1)

    # ---- sensors -------------------------------------------------------------------------
    def ensure_sensor(self):
        if self.accel is not None:
            return True
        if self.clock.ticks_diff(self.clock.ticks_ms(), self._sensor_next) < 0:
            return False
        from sensors import detect
        try:
            acc = detect.find_accel(self.board, self.cfg)
            s = self.cfg["sampling"]
            acc.configure(rate=s["rate"], range_g=s["range_g"])
        except OSError as e:
            self.set_error("accel", "no accelerometer: %s" % (e,))
            self._sensor_next = self.clock.ticks_add(self.clock.ticks_ms(), self.sensor_retry_ms)
            self.sensor_retry_ms = min(self.sensor_retry_ms * 2, 60000)
            return False
        self.accel = acc
        self.sensor_retry_ms = 1000
        from window.sampler import Sampler
        from features.engine import FeatureEngine
        self.sampler = Sampler(acc, self.clock, self.n)
        self.engine = FeatureEngine(self.n, acc.rate)
        log("sensor", "%s at %s, %d Hz, +-%d g, engine %s" % (acc.NAME, acc.regs.describe(), acc.rate, acc.range_g,
                                                            self.engine.impl))
        self.clear_error("accel")
        return True

    # ---- one cycle -----------------------------------------------------------------------
    def measure(self):
        smp = self.sampler
        try:
            smp.acquire()
        except OSError as e:
            self.set_error("accel", "bus error mid-window: %s" % (e,))
            self.accel = None
            return None
        eng = self.engine
        scale = self.accel.scale
        for ax in range(3):
            eng.compute(ax, smp.axes[ax], scale)
        self.seq += 1
        rep = {"node": self.cfg["node_id"], "seq": self.seq, "ts": self.clock.time(),
               "rate": smp.rate_measured_mhz / 1000, "n": self.n, "odr": self.accel.rate,
               "x": eng.result(0), "y": eng.result(1), "z": eng.result(2)}
        if smp.window_overrun:
            rep["overrun"] = True
        return rep

    def run(self, cycles=None):
        clock = self.clock
        log("boot", "vibenode %s on board %s, node %s" % (VERSION, self.board.NAME, self.cfg["node_id"]))
        self.ensure_sensor()  # so the birth message names what was found
        self.link.connect()
        next_ms = clock.ticks_ms()
        done = 0
        while cycles is None or done < cycles:
            if self.ensure_sensor():
                rep = self.measure()
                if rep is not None:
                    payload = json.dumps(rep)
                    self.link.connect()
                    if not self.link.publish(self.t_telemetry, payload, qos=1):
                        log("report", "seq %d not delivered (%s)" % (rep["seq"], self.link.last_error))
                    rep = payload = None
            done += 1
            gc.collect()
            next_ms = clock.ticks_add(next_ms, self.interval_ms)
            # between windows: service the link in small slices until the next window is due
            while True:
                left = clock.ticks_diff(next_ms, clock.ticks_ms())
                if left <= 0:
                    break
                self.link.service()
                clock.sleep_ms(min(left, 100))
            if clock.ticks_diff(clock.ticks_ms(), next_ms) > self.interval_ms:
                next_ms = clock.ticks_ms()  # fell behind by more than an interval: don't burst


def main(cycles=None):
    from vibenode import portal
    try:
        cfg = config.load()  # falls back to the last good config (status says why)
        from link import tls
        ssl = tls.context(cfg)  # CA + client cert/key for mutual TLS, None if TLS is off
    except ValueError as e:  # config.ConfigError, tls.TLSConfigError: no MQTT at all
        log("config", "%s: provisioning mode, no MQTT" % (e,))
        return portal.run(None)
    if config.state["error"]:
        log("config", "running on the last good config: %s" % config.state["error"])
    if portal.requested():
        portal.run(cfg)  # bounded by portal.timeout_s, then normal mode
    board = board_mod.make(cfg)
    node = Node(cfg, board, ssl)
    node.run(cycles)
    return node
