# The reporting path alone (MQTT link, store-and-forward queue, sequence counter, encoding,
# alarms, command handler) in a small heap: 100 readings queued while the broker is
# unreachable, replayed in order, then 400 live readings with a command each.
# argv: broker port, or "base" to print the heap its code takes. Working directory: scratch fs.
import gc
import json
import sys

from report.encode import Encoder
enc = Encoder(2048)  # first, while the heap has a free 2 KB block
import simclock
from link.mqtt import MqttLink
from report.alarm import Alarms
from report.encode import replayed
from report.topics import Topics
from store.queue import Queue
from store.seqno import SeqCounter
from vibenode.node import Inbox

if sys.argv[1] == "base":  # heap taken by the code alone (frozen in flash on a device)
    import vibenode.commands, vibenode.control  # noqa: E401  (loaded while commands are handled)
    gc.collect()
    print("RESULT " + json.dumps({"base": gc.mem_alloc()}))
    sys.exit(0)
port = int(sys.argv[1])
clock = simclock.SimClock()


class StubNode:  # the reporting parts, and the control interface the command handler talks to
    def __init__(self):
        self.node_id = "mem-1"
        self.topics = Topics("vibenode", "plant1", "mem-1")
        self.cmd_topic = self.topics.cmd
        self.clock = clock
        self.seqc = SeqCounter("seq.json")
        self.queue = Queue("queue", capacity=500)
        self.alarms = Alarms({"hysteresis": 0.1, "rules": [{"metric": "rms", "axis": "any", "warn": 0.5, "alarm": 1.0}]})
        self.interval_ms = 1000
        self.n = 2048
        self.max_window = 4096
        self.acks = 0

    def ping(self):
        return {"uptime_s": clock.now_us() // 1000000, "seq": self.seqc.last(), "queued": len(self.queue)}

    def config(self):
        return {"node_id": self.node_id}

    def save(self, section, upd, replace=False):
        return None

    def set_sampling(self, iv, win):
        if iv is not None:
            self.interval_ms = int(iv * 1000)
        return {"interval_s": self.interval_ms / 1000, "window": self.n}

    def set_alarms(self, spec):
        self.alarms.configure(spec)

    def capture(self, rid, kind, axis):
        return ValueError("no sensor running")

    def identify(self, s):
        pass

    def reboot(self):
        pass

    def ack(self, text):  # (the ack's JSON text)
        if link.publish(self.topics.cmd_ack, text, qos=0):
            self.acks += 1


node = StubNode()
cmds = Inbox(None, ctl=node)
link = MqttLink("mem-1", "127.0.0.1", port + 1 if port < 65535 else 1, clock, keepalive=10, timeout_s=2,
                will_topic=node.topics.status, will_msg='{"state": "offline", "node": "mem-1"}')
link.on_msg = cmds.on_message
lowest = [1 << 30]


def note():
    gc.collect()
    f = gc.mem_free()
    if f < lowest[0]:
        lowest[0] = f


def reading(seq):
    ax = {"mean": 0.00609, "rms": 0.7077, "pk": 1.01, "p2p": 2.0, "cf": 1.43, "sk": -0.0208, "ku": 1.5, "f0": 24.67,
          "pks": [[24.67, 1.0], [1341.0, 0.000315], [41.96, 0.000223]], "bands": [0.000203, 0.707, 0.000895, 0.000714],
          "hf": 0.000714, "vel": 44.8, "iso": "D"}
    return {"node": "mem-1", "seq": seq, "ts": clock.time(), "rate": 3199.5, "n": 2048, "odr": 3200, "x": ax, "y": ax, "z": ax}


def send(rep):
    payload = enc.encode(rep)
    if not len(node.queue) and link.up and link.publish(node.topics.telemetry, payload, qos=1):
        return
    node.queue.push(0, payload)


def pump():
    q = node.queue
    while len(q) and link.up:
        kind, payload = q.peek()
        if not link.publish(node.topics.telemetry, replayed(payload), qos=1):
            return
        q.pop()


# phase 1: the broker is unreachable (wrong port): readings are queued on the filesystem
for i in range(100):
    link.connect()
    send(reading(node.seqc.take()))
    clock.sleep_ms(1000)
    note()
assert len(node.queue) == 100, len(node.queue)
# phase 2: the broker is there
link.port = port
clock.sleep_ms(link.backoff_max_ms * 3 // 2 + 1)  # the longest backoff (with jitter) has passed


def on_up(lk):
    lk.publish(node.topics.status, '{"state": "online", "node": "mem-1"}', retain=True, qos=1)
    lk.subscribe(node.topics.cmd, 1)


link.on_up = on_up
for i in range(400):
    clock.sleep_ms(1000)
    link.service()
    pump()
    rep = reading(node.seqc.take())
    send(rep)
    node.alarms.update(rep)
    cmds.on_message(node.topics.cmd.encode(), b'{"id": "m%d", "cmd": "ping"}' % i, None, 0)
    cmds.process()
    note()
pump()
link.disconnect()
gc.collect()
print("RESULT " + json.dumps({"lowest_free": lowest[0], "queued": len(node.queue), "acks": node.acks,
                              "connects": link.connects, "heap_total": gc.mem_free() + gc.mem_alloc()}))
