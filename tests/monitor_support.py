"""Fixtures of the monitor tests (tests/test_monitor_*.py): a store of each backend (a SQLite
file; a database in a private PostgreSQL cluster started once per session), a publisher.
Import the fixtures into a test module with `from monitor_support import *`."""
import itertools
import os
import time

import paho.mqtt.client as mqtt
import pytest

from vnmon.pgtmp import TempPostgres  # conftest puts tools/ on sys.path

__all__ = ["pg_cluster", "store_url", "Publisher", "wait_until", "BACKENDS"]

BACKENDS = ["sqlite", "postgresql"]
_dbno = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    pg = TempPostgres()
    yield pg
    pg.destroy()


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path):
    """A fresh, empty store location of each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "monitor.db")
    pg = request.getfixturevalue("pg_cluster")
    return pg.create_db("vn_test_%d_%d" % (os.getpid(), next(_dbno)))


def wait_until(pred, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


class Publisher:
    def __init__(self, port, client_id=None):
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "test-pub-%d" % os.getpid())
        self.c.max_inflight_messages_set(200)
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()

    def pub(self, topic, payload, retain=False, qos=1):
        info = self.c.publish(topic, payload, qos=qos, retain=retain)
        return info

    def pub_all(self, items, timeout=20):
        infos = [self.pub(t, p) for t, p in items]
        for i in infos:
            i.wait_for_publish(timeout)

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()
