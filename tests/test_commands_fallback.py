"""A settings command on a node that runs on its last good config (config.json broken) is saved
from the last good copy, which repairs config.json."""
import json
import os

from conftest import Subscriber, node_config, start_node, write_fs
from test_commands_mqtt import BASE, Cmd


def test_set_on_last_good_config_repairs_config_json(broker, tmp_path):
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))
    first = start_node(fs, cycles=1)
    out, _ = first.communicate(timeout=60)
    assert os.path.exists(os.path.join(fs, "config.good.json")), out
    with open(os.path.join(fs, "config.json"), "w") as f:
        f.write('{"node_id": "sim-0001", "mqtt": ')  # a power cut in an editor
    sub = Subscriber(broker.port)
    node = start_node(fs, cycles=None)
    cmd = Cmd(broker.port, sub)
    try:
        st = sub.wait_for(lambda m: m[0] == BASE + "status" and b"online" in m[1], 30)
        assert st and json.loads(st[1])["config"]["source"] == "config.good.json"
        cmd.send({"id": "s1", "cmd": "set", "interval_s": 3})
        a = cmd.ack("s1")
        assert a is not None and a["ok"] is True, a
        with open(os.path.join(fs, "config.json")) as f:
            repaired = json.load(f)
        assert repaired["sampling"]["interval_s"] == 3
        assert repaired["mqtt"]["port"] == broker.port
    finally:
        node.kill()
        node.wait()
        cmd.close()
        sub.close()
