"""Host tools: the demo shows live readings; deploy refuses what it cannot do, clearly."""
import os
import subprocess
import sys

from conftest import ROOT

PY = os.path.join(ROOT, ".venv", "bin", "python")


def test_demo_shows_live_readings_and_cleans_up():
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "demo.py"), "--duration", "6"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    readings = [l for l in lines if " rms x " in l]
    assert len(readings) >= 2, r.stdout  # a reading every 2 s in real time
    assert any("STATUS online" in l for l in lines)
    assert "cleaned up" in lines[-1]
    # the private broker is gone
    port = int(lines[0].split(":")[-1].split()[0])
    import socket
    s = socket.socket()
    try:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    finally:
        s.close()


def test_deploy_without_device_is_a_clear_error():
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "deploy.py"), "--board", "esp32_devkitc", "--port",
                        "/dev/ttyNOPE0"], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "no device at /dev/ttyNOPE0" in r.stderr


def test_demo_survives_a_broker_restart_with_no_reading_lost():
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "demo.py"), "--outage", "3"], capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "broker killed (kill -9)" in out and "broker back" in out
    summary = [l for l in out.splitlines() if l.startswith("demo: node demo-0001: readings")]
    assert summary, out[-3000:]
    s = summary[0]
    assert ", 0 missing," in s, s
    replayed = int(s.split(" replayed")[0].rsplit(" ", 1)[-1])
    assert replayed >= 1, s  # readings taken during the outage came from the node's queue
    received = int(s.split(" received")[0].rsplit(" ", 1)[-1])
    assert received >= 10


def test_demo_replays_a_recording_through_the_emulated_chip():
    """make demo FILE=...: the CWRU outer-race excerpt goes through the ADXL345 emulator and the
    whole node, and the envelope names the outer race."""
    r = subprocess.run([PY, os.path.join(ROOT, "tools", "demo.py"), "--duration", "8", "--replay",
                        os.path.join(ROOT, "tests", "data", "cwru130_de_12k.npy")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    readings = [l for l in r.stdout.splitlines() if " rms x " in l]
    assert readings, r.stdout
    assert all(" env BPFO " in l for l in readings), readings
