# The node: boot -> config -> board -> sensors -> (acquire -> compute -> report)* forever.
#
# Data path: sensors (lib/sensors) -> window (lib/window) -> features (lib/features)
#            -> report (lib/report) -> link (lib/link).
# Measurement never waits for the network beyond the link's bounded socket timeouts, and no
# error escapes the loop: a missing sensor or a dead broker is reported on status and retried.
#
# Reporting (contract: docs/mqtt.md): every reading gets the next persisted sequence number
# (store/seqno.py) and goes out at QoS 1; when it cannot be delivered, or older ones are still
# waiting, it goes to the store-and-forward queue (store/queue.py), which is replayed in order
# between windows once the link is back. Commands arrive on `cmd` (vibenode/commands.py); the
# supervisor (vibenode/supervisor.py) feeds the watchdog only while sampling and link progress.
import gc
import json

import board as board_mod
from vibenode import VERSION, config, log as logm
from vibenode.log import log

K_TELEMETRY = 0  # record kinds in the queue
K_ALARM = 1
WAVE_CHUNK = 2400  # raw bytes per waveform message (base64 ~3.2 KB, the message < 4 KB)


def topic(cfg, leaf):
    m = cfg["mqtt"]
    return "%s/%s/%s/%s" % (m["prefix"], cfg["site"], cfg["node_id"], leaf)


class Node:
    def __init__(self, cfg, board, ssl=None, sup=None):
        self.cfg = cfg
        self.board = board
        self.clock = board.clock
        logm.clock = self.clock
        self.sup = sup
        self.offline = False  # OfflineWatch (None: not armed); made by run() unless main() did
        s = cfg["sampling"]
        self.n = s["window"]
        self._early = None
        if sup is None or not sup.safe_mode:
            self._early = self._early_buffers(s["rate"])
        self.interval_ms = int(s["interval_s"] * 1000)
        self.seq = 0
        self.accel = None
        self.sampler = None
        # every attribute the node sets later, now: its attribute table grows while the heap
        # is in one piece, not by a ~750-byte block in a full heap at the first window
        self.temp = self._temp_next = None
        self._temp_retry = 500
        self._clip = None
        self._acc_fail = self.windows_dropped = 0
        self.engine = None
        self.errors = {}
        self.sensor_retry_ms = 1000
        self._sensor_next = self.clock.ticks_ms()
        m = cfg["mqtt"]
        from link.mqtt import MqttLink
        self.t_status = topic(cfg, "status")
        self.t_telemetry = topic(cfg, "telemetry")
        lk = cfg.get("link") or {}
        wifi = None
        nets = (cfg.get("wifi") or {}).get("networks") or []
        if nets:
            from link.wifi import Wifi
            wifi = Wifi(self.board.wlan(), nets, self.clock, log)
        self.link = MqttLink(cfg["node_id"], m["host"], m["port"], self.clock, keepalive=m.get("keepalive", 30),
                             user=m.get("user"), password=m.get("password"),
                             will_topic=self.t_status, will_msg=json.dumps({"state": "offline", "node": cfg["node_id"]}),
                             timeout_s=m.get("timeout_s", 5), ssl=ssl, log=log, wifi=wifi,
                             dns=lk.get("dns"),  # "dhcp" / "a.b.c.d[:port]": bounded lookups (link/dns.py)
                             backoff_min_ms=int(lk.get("backoff_min_s", 0.5) * 1000),
                             backoff_max_ms=int(lk.get("backoff_max_s", 60) * 1000))
        self.link.on_up = self._on_link_up
        self._setup_reporting(cfg, m)

    def _early_buffers(self, rate):
        """The window and feature buffers (the node's largest blocks: 3 x 2n + 9.1 n bytes, 31 KB
        at 2048) and the feature engine, made first, while the heap is still in one piece, for
        the configured rate; ensure_sensor takes them over once the sensor is found (made
        there, after the link, queue and sensor code, they needed ~30 KB more heap: fragments,
        and the engine's setup code on top of everything). (n, engine or None, windows)."""
        from window.sampler import windows
        from features.engine import FeatureEngine, work_buffers
        import sensors.detect  # (code that ensure_sensor loads anyway: below the buffers)
        gc.collect()
        work = work_buffers(self.n)
        try:
            eng = FeatureEngine(self.n, rate, cfg=self.cfg.get("features"), work=work)
        except Exception:  # a bad features config: ensure_sensor reports it
            eng = None
        return self.n, (eng if eng is not None else work), windows(self.n)

    # ---- reporting path: topics, sequence, queue, alarms, commands --------------------------
    def _setup_reporting(self, cfg, m):
        from report.encode import Encoder
        self.enc = Encoder(2048)  # early, while the heap still has a free 2 KB block
        from report.topics import Topics
        from report.alarm import Alarms
        from store.seqno import SeqCounter
        from store.queue import Queue
        from vibenode.commands import Commands
        self.topics = Topics(m["prefix"], cfg["site"], cfg["node_id"])
        rp = cfg.get("reporting") or {}
        st = cfg.get("store") or {}
        self.seqc = SeqCounter(st.get("seq_file", "seq.json"), block=st.get("seq_block", 100))
        self.queue = Queue(st.get("dir", "queue"), capacity=1 << 30, log=log)
        self.queue.capacity = self._capacity(st, len(self.queue))
        if hasattr(self.queue, "_buf"):
            # the queue's replay buffer is the encoder's (1 KB less; a replay never overlaps an
            # encoding: pump() publishes each record before the next reading is encoded)
            self.queue._buf = self.enc.buf
        self.alarms = Alarms(cfg.get("alarms"))
        self.cmds = Commands(self)
        self.link.on_msg = self.cmds.on_message
        self.max_window = rp.get("max_window", 4096)
        self.capture_req = None
        self.reboot_req = False
        self.ident_until = None
        self.sent = 0  # readings delivered directly
        self.replayed = 0  # readings delivered from the queue
        self.queued = 0  # readings that went to the queue
        self._dropped_reported = self.queue.dropped
        self._hash = None
        nt = cfg.get("ntp") or {}
        self.ntp = None
        if nt.get("host") or self.clock.time() < 1600000000:  # configured, or the clock was never set
            from link.ntp import Ntp
            self.ntp = Ntp(self.clock, nt.get("host", "pool.ntp.org"), nt.get("port", 123), nt.get("timeout_s", 1),
                           log)

    def _capacity(self, st, held):
        """Queue capacity in readings: config store.capacity, else 24 h at the interval, bounded
        by half the free filesystem space (plus what the queue already holds) at 1 KB per stored
        reading (a ~700-byte reading, its record header and littlefs block rounding)."""
        cap = st.get("capacity")
        if isinstance(cap, int) and cap > 0:
            return cap
        cap = int(86400 * 1000 // max(1, self.interval_ms))
        try:
            import os
            v = os.statvfs(".")
            cap = min(cap, v[0] * v[4] // 2 // 1024 + held)
        except Exception:
            pass
        return max(cap, 10)

    def config_hash(self):
        if self._hash is None:
            try:
                import hashlib
                import binascii
                with open(config.state.get("source") or config.PATH, "rb") as f:
                    self._hash = binascii.hexlify(hashlib.sha256(f.read()).digest()[:6]).decode()
            except Exception:
                self._hash = "unknown"
        return self._hash

    def topic_of(self, kind):
        return self.topics.alarm if kind == K_ALARM else self.topics.telemetry

    def send_record(self, kind, payload, seq):
        """Deliver a reading (QoS 1) or queue it; older queued readings always go first."""
        q = self.queue
        if not len(q) and self.link.up:
            if self.link.publish(self.topic_of(kind), payload, qos=1):
                self.sent += 1
                return True
        try:
            q.push(kind, payload)
            self.queued += 1
            why = self.link.last_error or "replay pending"
            if kind == K_TELEMETRY:
                log("report", "seq %d not delivered (%s); queued (%d)" % (seq, why, len(q)))
            else:
                log("report", "alarm (seq %d) queued (%d)" % (seq, len(q)))
        except Exception as e:  # filesystem full or failing: the reading is lost (q.lost_storage), say so
            self.set_error("store", str(e))  # store.queue.StorageError: "queue: no space left on device"
            return False
        if q.error is None and "store" in self.errors:
            self.clear_error("store")  # the first write that worked again
        return False

    def pump(self, deadline_ms=None, limit=16):
        """Replay queued readings in order while the link is up (at most `limit`, and not past
        deadline_ms). Returns how many went out."""
        from report.encode import replayed
        q = self.queue
        n = 0
        clock = self.clock
        while n < limit and len(q) and self.link.up:
            if deadline_ms is not None and clock.ticks_diff(deadline_ms, clock.ticks_ms()) <= 0:
                break
            r = q.peek()
            if r is None:
                break
            kind, payload = r
            if not self.link.publish(self.topic_of(kind), replayed(payload), qos=1):
                break
            q.pop()  # (a checkpoint the filesystem refuses: q.error; peek pauses the replay)
            n += 1
            self.replayed += 1
        if n and not len(q):
            q.save_head()
            self.event("replayed", {"count": self.replayed, "dropped": q.dropped})
        if q.error is not None:
            self.set_error("store", q.error)
        elif "store" in self.errors:
            self.clear_error("store")
        return n

    def _encode(self, obj):
        try:
            return self.enc.encode(obj)
        except ValueError:  # larger than the buffer: allocate for this one
            from report.encode import dumps
            return dumps(obj)

    def publish_reading(self, rep):
        seq = rep["seq"]
        self.send_record(K_TELEMETRY, self._encode(rep), seq)
        for rule, old, new, v, lim in self.alarms.update(rep):
            al = {"node": self.cfg["node_id"], "seq": seq, "ts": rep["ts"], "metric": rule["metric"],
                  "axis": rule.get("axis", "any"), "state": new, "prev": old, "value": v, "limit": lim}
            log("alarm", "%s %s %s -> %s (%s)" % (rule["metric"], al["axis"], old, new, v))
            self.send_record(K_ALARM, self._encode(al), seq)

    def event(self, name, fields=None):
        ev = {"event": name, "node": self.cfg["node_id"], "ts": self.clock.time()}
        if fields:
            for k in fields:
                ev[k] = fields[k]
        if self.link.up:
            self.link.publish(self.topics.event, json.dumps(ev), qos=1)

    def send_ack(self, ack):
        if self.link.up:
            self.link.publish(self.topics.cmd_ack, json.dumps(ack), qos=0)

    def counters(self):
        q = self.queue
        lk = self.link
        return {"queued": len(q), "dropped": q.dropped, "sent": self.sent, "replayed": self.replayed,
                "connects": lk.connects, "link_failures": lk.failures, "cmd_dropped": self.cmds.dropped,
                "seq": self.seqc.last()}

    # ---- commands ------------------------------------------------------------------------
    def persist(self, section, upd, replace=False):
        """Save accepted settings in config.json (validated, atomic, last good kept). Returns
        an error text, or None when saved."""
        try:
            # start from the file the node runs on: config.json, or the last good copy when
            # config.json is broken (saving then repairs config.json)
            with open(config.state.get("source") or config.PATH) as f:
                raw = json.load(f)
            sec = raw.get(section)
            if replace or not isinstance(sec, dict):
                sec = {}
            for k in upd:
                sec[k] = upd[k]
            raw[section] = sec
            config.save(raw)
        except Exception as e:
            return "%s: %s" % (type(e).__name__, e)
        cur = self.cfg.get(section)
        if replace or not isinstance(cur, dict):
            self.cfg[section] = dict(upd)
        else:
            for k in upd:
                cur[k] = upd[k]
        self._hash = None
        return None

    def apply_sampling(self, interval_s, window):
        if interval_s is not None:
            self.interval_ms = int(interval_s * 1000)
        if window is not None and window != self.n:
            self.n = window
            self.sampler = self.engine = self.accel = None  # re-made at the next window
            gc.collect()
        if self.sup is not None:
            self.sup.limits = self.wdt_limits()  # a longer interval means rarer sampler progress

    def has_spectrum(self):
        return self.engine is not None and hasattr(self.engine, "spectrum_u16")

    def identify(self, seconds):
        """Blink the board's LED (PINS["led"], if it has one) for `seconds`; always logged."""
        self.ident_until = self.clock.ticks_add(self.clock.ticks_ms(), seconds * 1000)
        log("identify", "for %d s" % seconds)

    def _blink(self):
        c = self.clock
        if self.ident_until is None:
            return
        pins = getattr(self.board, "PINS", None) or {}
        led = pins.get("led") if isinstance(pins, dict) else None
        on = c.ticks_diff(self.ident_until, c.ticks_ms()) > 0
        if led is not None:
            try:
                self.board.pin(led).value(1 if on and (c.ticks_ms() // 250) & 1 else 0)
            except Exception:
                pass
        if not on:
            self.ident_until = None

    def serve_capture(self, seq):
        rid, kind, ax = self.capture_req
        self.capture_req = None
        axes = (0, 1, 2) if ax == "all" else ("xyz".index(ax),)
        if kind == "waveform":
            ok = self._send_waveform(rid, seq, axes)
        else:
            ok = self._send_spectrum(rid, seq, axes)
        if not ok:
            self.event("capture_failed", {"id": rid, "kind": kind, "error": self.link.last_error})

    def _send_waveform(self, rid, seq, axes):
        import binascii
        smp = self.sampler
        nbytes = 2 * self.n
        per = (nbytes + WAVE_CHUNK - 1) // WAVE_CHUNK
        total = per * len(axes)
        i = 0
        for a in axes:
            mv = memoryview(smp.axes[a])
            raw = memoryview(bytes(mv))  # int16 little-endian on every supported chip
            mv = None
            for off in range(0, nbytes, WAVE_CHUNK):
                end = min(off + WAVE_CHUNK, nbytes)
                msg = {"id": rid, "node": self.cfg["node_id"], "seq": seq, "kind": "waveform", "axis": "xyz"[a],
                       "index": i, "total": total, "n": self.n, "offset": off // 2, "count": (end - off) // 2,
                       "rate": self.accel.rate, "scale_g": self.accel.scale, "fmt": "i16le",
                       "data": binascii.b2a_base64(raw[off:end]).decode().strip()}
                if not self.link.publish(self.topics.waveform, json.dumps(msg), qos=1):
                    return False
                msg = None
                i += 1
            raw = None
        return True

    def _send_spectrum(self, rid, seq, axes):
        # The feature engine exports a spectrum as spectrum_u16(axis) -> (array('H') bins,
        # bin width Hz, g per count); chunked like the waveform.
        import binascii
        eng = self.engine
        total_chunks = []
        for a in axes:
            bins, df, scale = eng.spectrum_u16(a)
            nb = len(bins) * 2
            total_chunks.append((a, bins, df, scale, nb))
        total = sum((c[4] + WAVE_CHUNK - 1) // WAVE_CHUNK for c in total_chunks)
        i = 0
        for a, bins, df, scale, nb in total_chunks:
            raw = memoryview(bytes(memoryview(bins)))
            for off in range(0, nb, WAVE_CHUNK):
                end = min(off + WAVE_CHUNK, nb)
                msg = {"id": rid, "node": self.cfg["node_id"], "seq": seq, "kind": "spectrum", "axis": "xyz"[a],
                       "index": i, "total": total, "bins": nb // 2, "offset": off // 2, "count": (end - off) // 2,
                       "df_hz": df, "scale_g": scale, "fmt": "u16le",
                       "data": binascii.b2a_base64(raw[off:end]).decode().strip()}
                if not self.link.publish(self.topics.spectrum, json.dumps(msg), qos=1):
                    return False
                i += 1
        return True

    def reboot(self):
        """Deliberate restart: exact sequence number and queue position saved first (no gap)."""
        log("cmd", "reboot requested")
        self.seqc.save_exact()
        self.queue.save_head()
        if self.sup is not None and self.sup.safe_mode:
            self.sup.clear_safe_mode()
        if self.link.up:
            self.link.publish(self.topics.status, self.status("rebooting"), retain=True, qos=1)
        self.link.disconnect()
        import machine
        machine.reset()

    # ---- status --------------------------------------------------------------------------
    def status(self, state="online"):
        st = {"state": state, "node": self.cfg["node_id"], "fw": VERSION, "board": self.board.NAME,
              "sensors": self.sensor_list(),
              "engine": self.engine.impl if self.engine else None, "errors": self.errors,
              "reset_cause": self.board.reset_cause(), "config": config.status()}
        st["config_hash"] = self.config_hash()
        st["seq0"] = self.seqc.first
        st["queued"] = len(self.queue)
        st["interval_s"] = self.interval_ms / 1000
        st["window"] = self.n
        if self.sup is not None:
            st["boot"] = self.sup.info()
            st["safe_mode"] = self.sup.safe_mode
        return json.dumps(st)

    def _on_link_up(self, link):
        log("link", "connected to %s:%d" % (link.host, link.port))
        if not link.publish(self.t_status, self.status(), retain=True, qos=1):
            return
        if not link.subscribe(self.topics.cmd, 1):
            return
        q = self.queue
        ev = self.counters()
        ev["outage_ms"] = link.last_down_ms
        ev["last_error"] = link.down_error
        self.event("link_up", ev)
        if q.dropped != self._dropped_reported:
            self.event("dropped", {"count": q.dropped - self._dropped_reported, "total": q.dropped})
            self._dropped_reported = q.dropped
        sup = self.sup
        if sup is not None and sup.crash_trace and link.up:
            if link.publish(self.topics.event, json.dumps({"event": "crash", "node": self.cfg["node_id"],
                                                           "ts": self.clock.time(), "boot": sup.boots - 1,
                                                           "trace": sup.crash_trace}), qos=1):
                sup.crash_published()

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
        self.ensure_temp()  # (found at boot too, so the birth message names it)
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
        from features.engine import FeatureEngine, clip_limits
        # the window and feature buffers are the node's largest blocks: the old ones (a
        # re-detected sensor) go first, then the largest (the engine's) into the freest heap
        self.sampler = self.engine = None
        early = self._early  # (n, engine or its work buffers, windows) made by __init__
        self._early = None
        eng = work = win = None
        if early is not None and early[0] == self.n:
            eng, win = early[1], early[2]
            if not isinstance(eng, FeatureEngine):
                work, eng = eng, None
            elif eng.rate_hz != acc.rate:  # the chip runs at another rate: same buffers
                work, eng = (eng.buf, eng.p, eng.tw, eng.win), None
        early = None
        gc.collect()
        irq = self.board.int_pin() if hasattr(self.board, "int_pin") else None
        if eng is None:
            try:
                eng = FeatureEngine(self.n, acc.rate, cfg=self.cfg.get("features"), work=work)
            except (ValueError, KeyError, TypeError) as e:
                gc.collect()
                self.set_error("features", "features config: %s (defaults used)" % (e,))
                eng = FeatureEngine(self.n, acc.rate, work=work)
        self.engine = eng
        eng = work = None
        self.sampler = Sampler(acc, self.clock, self.n, irq=irq, axes=win)
        win = None
        self._clip = clip_limits(acc.range_g, acc.scale)
        if getattr(self.engine, "iso", None):
            self.alarms.set_zones(self.engine.iso)  # ISO 10816-3 zone changes are alarms too
        log("sensor", "%s at %s, %d Hz, +-%d g, engine %s" % (acc.NAME, acc.regs.describe(), acc.rate, acc.range_g,
                                                            self.engine.impl))
        self.clear_error("accel")
        return True

    def sensor_list(self):
        out = []
        for dev in (self.accel, getattr(self, "temp", None)):
            if dev is not None:
                out.append(dev.NAME + "@" + dev.regs.describe())
        return out

    def ensure_temp(self):
        """The temperature sensor (board TEMP_SLOTS), found with a retry backoff like the
        accelerometer; a board without temperature slots has none (and no error)."""
        if getattr(self, "temp", None) is not None:
            return self.temp
        if not getattr(self.board, "TEMP_SLOTS", None):
            return None
        clock = self.clock
        nxt = getattr(self, "_temp_next", None)
        if nxt is not None and clock.ticks_diff(clock.ticks_ms(), nxt) < 0:
            return None
        from sensors import detect
        try:
            self.temp = detect.find_temp(self.board, self.cfg)
        except OSError as e:
            self.temp = None
            self._temp_retry = min(getattr(self, "_temp_retry", 500) * 2, 60000)
            self._temp_next = clock.ticks_add(clock.ticks_ms(), self._temp_retry)
            if (self.cfg.get("sensors") or {}).get("temp") or "absent" not in str(e)[:6]:
                self.set_error("temp", "no temperature sensor: %s" % (e,))
            return None
        self._temp_retry = 500
        log("sensor", "%s at %s" % (self.temp.NAME, self.temp.regs.describe()))
        self.clear_error("temp")
        if self.link.up:
            self.link.publish(self.t_status, self.status(), retain=True, qos=1)
        return self.temp

    def add_temperature(self, rep):
        """temp_c into the reading (a temperature-only reading when there is no accelerometer
        window); the accelerometer's die temperature as die_c where the chip has one."""
        t = self.ensure_temp()
        c = None
        if t is not None:
            try:
                try:
                    c = t.read_c()
                except OSError as e:
                    if getattr(e, "name", "") != "not_ready":
                        raise
                    self.clock.sleep_ms(getattr(t, "FIRST_MS", 150))  # first conversion under way
                    c = t.read_c()
                self.clear_error("temp")
            except OSError as e:
                name = getattr(e, "name", "")
                if name != "not_ready":
                    self.set_error("temp", "%s: %s" % (t.NAME, e))
                    if name in ("absent", "bus_timeout", "bus_error"):
                        self.temp = None  # re-detect (with backoff)
        if rep is None:
            if c is None:
                return None
            self.seq = self.seqc.take()
            rep = {"node": self.cfg["node_id"], "seq": self.seq, "ts": self.clock.time()}
            if rep["ts"] < 1600000000:
                rep["unsync"] = True
        if c is not None:
            rep["temp_c"] = round(c, 3)
        acc = self.accel
        if acc is not None and "x" in rep and hasattr(acc, "die_temp_c"):
            try:
                rep["die_c"] = round(acc.die_temp_c(), 2)
            except OSError:
                pass
        return rep

    # ---- one cycle -----------------------------------------------------------------------
    def measure(self):
        smp = self.sampler
        try:
            smp.acquire()
        except OSError as e:  # the window is discarded and counted; twice in a row: re-detect
            self.windows_dropped = getattr(self, "windows_dropped", 0) + 1
            self._acc_fail = getattr(self, "_acc_fail", 0) + 1
            self.set_error("accel", "window dropped: %s" % (e,))
            if self._acc_fail >= 2:
                self.accel = None
                self._acc_fail = 0
            return None
        self._acc_fail = 0
        if "accel" in self.errors:
            self.clear_error("accel")
        eng = self.engine
        scale = self.accel.scale
        lo, hi = self._clip
        for ax in range(3):
            eng.compute(ax, smp.axes[ax], scale, lo, hi)
        self.seq = self.seqc.take()
        # one dict of its final size, optional keys removed (a key added later would regrow
        # its table: a fresh block in a full heap); the slots of removed keys take the ones
        # add_temperature adds (temp_c, die_c: removed here in any case)
        rep = {"node": self.cfg["node_id"], "seq": self.seq, "ts": self.clock.time(),
               "rate": smp.rate_measured_mhz / 1000, "n": self.n, "odr": self.accel.rate,
               "x": eng.result(0), "y": eng.result(1), "z": eng.result(2),
               "overrun": True, "lost": smp.window_lost,
               "overruns": smp.overruns,  # windows with FIFO overruns (this sampler)
               "dropped": self.windows_dropped,  # windows discarded on bus errors
               "unsync": True,  # the clock was never set (no NTP yet): ts is uptime-based
               "temp_c": None, "die_c": None}
        if not smp.window_overrun:
            del rep["overrun"]
            del rep["lost"]
        if not (smp.overruns or self.windows_dropped):
            del rep["overruns"]
            del rep["dropped"]
        if rep["ts"] >= 1600000000:
            del rep["unsync"]
        del rep["temp_c"]
        del rep["die_c"]
        return rep

    def wdt_limits(self):
        """How long each subsystem may go without progress: the sampler one interval plus a
        window plus the blocking link work of a cycle (connect, CONNACK, birth, subscribe,
        publishes: each bounded by the socket timeout); the link that blocking work."""
        t = int(self.cfg["mqtt"].get("timeout_s", 5) * 1000)
        win_ms = self.n * 1000 // max(1, self.cfg["sampling"]["rate"])
        limits = {"link": 10 * t + 5000}
        if self.sup is not None and not self.sup.safe_mode:
            limits["sampler"] = self.interval_ms + win_ms + 10 * t + 5000
        return limits

    def start_watchdog(self):
        """The chip's watchdog covers the longest stretch without a feed (feeds happen between
        windows, every <= 100 ms): the longest window (4096 samples) plus the blocking link work.
        Whether to feed is decided by the progress limits (wdt_limits)."""
        sup = self.sup
        if sup is None:
            return
        t = int(self.cfg["mqtt"].get("timeout_s", 5) * 1000)
        win_max = 4096 * 1000 // max(1, self.cfg["sampling"]["rate"])
        sup.start_wdt(win_max + 10 * t + 10000, self.wdt_limits())

    def run(self, cycles=None):
        clock = self.clock
        sup = self.sup
        safe = sup is not None and sup.safe_mode
        log("boot", "vibenode %s on board %s, node %s%s" % (VERSION, self.board.NAME, self.cfg["node_id"],
                                                           " (SAFE MODE)" if safe else ""))
        if not safe:
            self.ensure_sensor()  # so the birth message names what was found
        self.link.connect()
        self.start_watchdog()
        offline = self.offline  # no broker for portal.offline_s: offer the portal
        if offline is False:  # (main() makes it at boot, before the node's buffers)
            offline = self.offline = offline_watch(self.cfg, clock)
        next_ms = clock.ticks_ms()
        done = 0
        while cycles is None or done < cycles:
            if not safe:
                rep = self.measure() if self.ensure_sensor() else None
                rep = self.add_temperature(rep)  # temperature with or without accelerometer
                if rep is not None:
                    self.publish_reading(rep)
                    if self.capture_req is not None and "x" in rep:
                        self.serve_capture(rep["seq"])
                    rep = None
            if self.capture_req is not None and (safe or self.sampler is None):
                rid, kind = self.capture_req[0], self.capture_req[1]
                self.capture_req = None  # the sensor went away: say so instead of waiting
                self.event("capture_failed", {"id": rid, "kind": kind, "error": "no sensor running"})
            if sup is not None:
                sup.progress("sampler")
            done += 1
            if offline is not None:
                offline.check(self.link.up)
            gc.collect()
            next_ms = clock.ticks_add(next_ms, self.interval_ms)
            # between windows: link, replay, commands in small slices until the next window is due
            while True:
                left = clock.ticks_diff(next_ms, clock.ticks_ms())
                if left <= 0:
                    break
                # the clock first: TLS certificate checks need the time (an unset ESP32 clock
                # makes every certificate "not yet valid")
                if self.ntp is not None and self.link.net_up():
                    self.ntp.service()
                self.link.service()
                if sup is not None:
                    sup.progress("link")
                if self.link.up:
                    self.pump(next_ms)
                    self.cmds.process()
                if self.reboot_req:
                    self.reboot()
                self._blink()
                if self.capture_req is not None and not safe:
                    break  # capture now: start the next window at once
                if sup is not None:
                    sup.feed()
                    sup.tick()
                left = clock.ticks_diff(next_ms, clock.ticks_ms())
                if left > 0:
                    clock.sleep_ms(min(left, 100))
            if self.capture_req is not None:
                next_ms = clock.ticks_ms()
            if clock.ticks_diff(clock.ticks_ms(), next_ms) > self.interval_ms:
                next_ms = clock.ticks_ms()  # fell behind by more than an interval: don't burst


def offline_watch(cfg, clock, portal=None):
    """portal.OfflineWatch, or None when it is not armed (no passphrase, offline_s = 0): the
    portal code then leaves RAM."""
    if portal is None:
        from vibenode import portal
    w = portal.OfflineWatch(cfg, clock)
    if w.armed:
        return w
    w = portal = None
    _drop_portal()
    return None


def _drop_portal():
    """Unload vibenode.portal (~10 KB of .mpy, ~30 KB of RAM on the unix port): it is needed at
    boot (portal requested?) and by an armed OfflineWatch only; .mpy code lives in the heap."""
    import sys
    import vibenode
    sys.modules.pop("vibenode.portal", None)
    try:
        delattr(vibenode, "portal")
    except (AttributeError, TypeError):
        pass
    gc.collect()


def main(cycles=None):
    from vibenode import portal
    try:
        cfg = config.load()  # falls back to the last good config (status says why)
        ssl = None
        if (cfg.get("tls") or {}).get("enabled"):  # (link.tls loads only for TLS: code is RAM)
            from link import tls
            ssl = tls.context(cfg)  # CA + client cert/key for mutual TLS
            tls = None
    except ValueError as e:  # config.ConfigError, tls.TLSConfigError: no MQTT at all
        log("config", "%s: provisioning mode, no MQTT" % (e,))
        return portal.run(None)
    if config.state["error"]:
        log("config", "running on the last good config: %s" % config.state["error"])
    if portal.requested():
        portal.run(cfg)  # bounded by portal.timeout_s, then normal mode
    board = board_mod.make(cfg)
    offline = offline_watch(cfg, board.clock, portal)  # now: the portal code is loaded
    portal = None
    from vibenode.supervisor import Supervisor
    sup = Supervisor(board, board.clock, log=log)
    node = None
    try:
        node = Node(cfg, board, ssl, sup)
        node.offline = offline
        offline = None
        node.run(cycles)
    except Exception as e:
        if type(e).__name__ == "ResetRequested":  # the host board's machine.reset()
            raise
        # an unhandled error: keep the traceback for the next boot's event, then restart
        import sys
        sys.print_exception(e)
        sup.crashed(e)
        import machine
        machine.reset()
    return node
