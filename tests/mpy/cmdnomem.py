# A command whose answer finds no heap (tests/test_commands_hardening.py): the inbox drops that
# command, counts it and goes on with the next; the node is not taken down.
import json

from vibenode.node import Inbox


class Ctl:
    cmd_topic = "vibenode/plant1/n1/cmd"
    node_id = "n1"
    max_window = 4096

    def __init__(self):
        self.acks = []
        self.fail = 1

    def ping(self):
        return {"pong": True}

    def ack(self, text):
        if self.fail:
            self.fail -= 1
            raise MemoryError("memory allocation failed")
        self.acks.append(json.loads(text))


ctl = Ctl()
box = Inbox(None, ctl=ctl)
t = ctl.cmd_topic.encode()
for i in range(3):
    box.on_message(t, b'{"id": "p%d", "cmd": "ping"}' % i, None, 0)
done = []
while box.msgs:
    done.append(box.process())
print("RESULT " + json.dumps({"processed": done, "dropped": box.dropped, "answered": box.answered,
                              "acks": [a.get("id") for a in ctl.acks]}))
