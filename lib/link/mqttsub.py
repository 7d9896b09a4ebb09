# SUBSCRIBE/SUBACK for the link (lib/link/mqtt.py): a node subscribes once per session (cmd,
# an update's data topic), so this is loaded for the subscription and dropped after. Every byte
# goes through Proto's bounded writer and reader (lib/link/mqttproto.py).
from link.mqttproto import MqttError, put_str


def subscribe(p, topic, qos):
    """One topic (bytes) at qos on Proto p, waiting for its SUBACK within the timeout."""
    pid = p.next_pid()
    tl = len(topic)
    if tl > 120:
        raise ValueError("topic too long")
    pkt = bytearray(7 + tl)
    pkt[0] = 0x82
    pkt[1] = 5 + tl
    pkt[2] = pid >> 8
    pkt[3] = pid & 0xFF
    put_str(pkt, 4, topic)
    pkt[6 + tl] = qos
    deadline = p.deadline()
    p.send(pkt, deadline)
    p.owner.tx()
    while p.subacked != pid:
        p.step(deadline, "SUBACK")
    if p.sub_rc == 0x80:
        raise MqttError("SUBACK: subscription to %s refused" % topic)
