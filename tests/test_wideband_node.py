"""The IIS3DWB end to end: the host node (unix port, compiled build) replaying the CWRU outer-race
recording at full band through the IIS3DWB emulator, a real Mosquitto: telemetry under 1 KB with
the streamed envelope (BPFO alarm), HF and full-rate features; status names the envelope band in
use; the envelope spectrum on request (capture kind "envelope"). Existing chips: the band is the
engine's, clamped below their Nyquist."""
import base64
import json
import os

import numpy as np
from jsonschema import Draft202012Validator

from conftest import ROOT, Subscriber, node_config, start_node, write_fs
from test_commands_mqtt import BASE, Cmd, _chunks

MULT = {"BPFO": 3.5848, "BPFI": 5.4152, "BSF": 2.3568, "FTF": 0.39828}


def _schema(name):
    with open(os.path.join(ROOT, "schemas", name + ".schema.json")) as f:
        return Draft202012Validator(json.load(f))


def test_iis3dwb_node_streams_the_envelope_and_serves_it(broker, tmp_path):
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port, features={"bearing": {"multiples": MULT}, "rpm": 1796})
    cfg["sampling"] = {"rate": 26667, "range_g": 16, "window": 2048, "interval_s": 3}
    rec = {"path": os.path.join(ROOT, "tests", "data", "cwru130_de_12k.npy"), "rate_hz": 12000, "scale_g": 0.0005,
           "loop": True}
    cfg["board"] = {"name": "host", "chips": ["iis3dwb@spi1:5", "tmp117@i2c0:0x48"], "sim": {"recording": rec}}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=None)
    cmd = Cmd(broker.port, sub)
    try:
        m = sub.wait_for(lambda m: m[0] == BASE + "telemetry", 60)
        assert m is not None, "no telemetry"
        assert len(m[1]) < 1024, len(m[1])
        rep = json.loads(m[1])
        _schema("telemetry").validate(rep)
        x = rep["x"]
        assert x["env"]["dom"] == "BPFO" and x["env"].get("alarm") is True, x
        assert abs(x["rms"] - 0.67) < 0.07 and x["ku"] > 5 and x["hf"] > 0.5 and "hfpk" in x, x
        assert rep["odr"] == 26667 and "wb_lost" not in rep
        st = sub.wait_for(lambda m: m[0] == BASE + "status" and b'"env_band": [' in m[1], 10)
        status = json.loads(st[1])
        assert status["env_band"] == [2000, 6000] and "iis3dwb" in status["sensors"][0]
        cmd.send({"id": "e1", "cmd": "capture", "kind": "envelope", "axis": "x"})
        a = cmd.ack("e1")
        assert a and a["ok"], a
        assert sub.wait_for(lambda m: m[0] == BASE + "spectrum" and json.loads(m[1])["id"] == "e1"
                            and json.loads(m[1])["index"] == json.loads(m[1])["total"] - 1, 30)
        ch = _chunks(sub, "spectrum", "e1")
        for c in ch:
            _schema("spectrum").validate(c)
            assert c["kind"] == "envelope" and len(json.dumps(c)) < 4096
        amp = np.frombuffer(b"".join(base64.b64decode(c["data"]) for c in ch), "<u2") * ch[0]["scale_g"]
        df = ch[0]["df_hz"]
        k = int(np.argmax(amp[2:])) + 2
        assert abs((k + 0.5) * df - 3.5848 * 1796 / 60) <= 1.5 * df, (k, df)  # the strongest line: BPFO
    finally:
        cmd.close()
        node.kill()
        node.communicate()
        sub.close()


def test_existing_chip_envelope_band_clamped_below_nyquist_in_status(broker, tmp_path):
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port, features={"bearing": {"multiples": MULT}, "rpm": 1480})
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=1)
    out, _ = node.communicate(timeout=120)
    st = sub.wait_for(lambda m: m[0] == BASE + "status" and b"online" in m[1] and b'"env_band": [' in m[1], 10)
    sub.close()
    assert st is not None, out[-2000:]
    lo, hi = json.loads(st[1])["env_band"]
    assert 400 < lo < hi < 1600, (lo, hi)  # ADXL345 at 3200 Hz: the engine's band, below its Nyquist


def _iis_node(broker, tmp_path, stream, heapsize=None):
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port, features={"bearing": {"multiples": MULT}, "rpm": 1480, "stream": stream})
    cfg["sampling"] = {"rate": 26667, "range_g": 8, "window": 2048, "interval_s": 2}
    cfg["board"] = {"name": "host", "chips": ["iis3dwb@spi1:5"],
                    "sim": {"bearing": {"resonance_hz": 4000, "impulse_g": 1.0}, "noise_g": 0.02}}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=1, heapsize=heapsize)
    out, _ = node.communicate(timeout=120)
    m = sub.wait_for(lambda m: m[0] == BASE + "telemetry", 10)
    st = [json.loads(p) for t, p, r in list(sub.msgs) if t == BASE + "status"]
    sub.close()
    assert m is not None, out[-2000:]
    return json.loads(m[1]), st


def test_axes_default_by_heap_one_without_psram_three_with_it(broker, tmp_path):
    """No features.stream.axes: a heap under 512 KB (no PSRAM) streams x alone (three axes would not
    fit the device-fit budget), a PSRAM-sized heap all three."""
    small, _ = _iis_node(broker, tmp_path / "s", {}, heapsize="400k")
    assert "hfpk" in small["x"] and "y" not in small and "z" not in small
    big, _ = _iis_node(broker, tmp_path / "b", {}, heapsize="2m")
    assert all("hfpk" in big[a] for a in "xyz")


def test_stream_config_axes_and_a_bad_stream_config(broker, tmp_path):
    rep, st = _iis_node(broker, tmp_path / "a", {"axes": 1, "band": [3000, 5000]})
    # the stream is the measurement (no full-rate window of three axes): axes not streamed are not reported
    assert "hfpk" in rep["x"] and "y" not in rep and "z" not in rep and rep["n"] == 2048
    assert rep["x"]["env"]["dom"] == "BPFO", rep["x"]
    assert [s["env_band"] for s in st if s.get("env_band")][-1] == [3000, 5000]
    # a bad stream config is refused by the one validator (vibenode/cfgspec.py): the node runs on its
    # last good config (the one above, kept after its first published reading) and says why on status
    fs = str(tmp_path / "a" / "fs")
    with open(os.path.join(fs, "config.json")) as f:
        cfg = json.load(f)
    cfg["features"]["stream"] = {"band": "2-6 kHz"}
    with open(os.path.join(fs, "config.json"), "w") as f:
        json.dump(cfg, f)
    sub = Subscriber(broker.port)
    node = start_node(fs, cycles=1)
    out, _ = node.communicate(timeout=120)
    m = sub.wait_for(lambda m: m[0] == BASE + "telemetry", 10)
    st = [json.loads(p) for t, p, r in list(sub.msgs) if t == BASE + "status"]
    sub.close()
    assert m is not None, out[-2000:]
    assert any("features.stream.band" in str(s.get("config")) for s in st), st
    assert [s["env_band"] for s in st if s.get("env_band")][-1] == [3000, 5000]  # the last good one


def test_auto_band_found_at_start_and_on_status(broker, tmp_path):
    """features.stream.band "auto": the node finds the envelope band from a full-rate spectrum before
    its first window (the emulated machine rings at 4 kHz) and status says which band is in use."""
    rep, st = _iis_node(broker, tmp_path, {"axes": 1, "band": "auto"})
    lo, hi = [s["env_band"] for s in st if s.get("env_band")][-1]
    assert lo < 4000 < hi and hi - lo <= 4000 and [lo, hi] != [2000, 6000], (lo, hi)
    assert rep["x"]["env"]["dom"] == "BPFO" and rep["x"]["env"].get("alarm") is True, rep["x"]
    assert not any(s.get("errors") for s in st), st


def test_band_found_again_on_a_spectrum_capture_over_the_learned_level(broker, tmp_path):
    """A bearing defect that grows from nothing (ringing an 8 kHz resonance): the band found at start
    (noise only) is not there; a spectrum capture of x (26.7 kHz full-rate block, 256 bins) finds the
    band again, over the level learned at start, and status says so."""
    sub = Subscriber(broker.port)
    cfg = node_config(broker.port, features={"bearing": {"multiples": MULT}, "rpm": 1480,
                                             "stream": {"axes": 1, "band": "auto"}})
    cfg["sampling"] = {"rate": 26667, "range_g": 8, "window": 2048, "interval_s": 30}
    cfg["board"] = {"name": "host", "chips": ["iis3dwb@spi1:5"],
                    "sim": {"bearing": {"resonance_hz": 8000, "impulse_g": 0.0}, "noise_g": 0.02,
                            "vary": {"after_s": 0, "bearing_g_per_min": 1.0}}}
    fs = write_fs(str(tmp_path / "fs"), cfg)
    node = start_node(fs, cycles=None)
    cmd = Cmd(broker.port, sub)
    try:
        st = sub.wait_for(lambda m: m[0] == BASE + "status" and b'"env_band": [' in m[1], 60)
        assert st is not None
        lo0, hi0 = json.loads(st[1])["env_band"]
        # 3 minutes of emulated time: the defect's impulses reach ~3 g
        assert sub.wait_for(lambda m: m[0] == BASE + "telemetry" and json.loads(m[1])["seq"] >= 7, 120)
        cmd.send({"id": "s1", "cmd": "capture", "kind": "spectrum", "axis": "x"})
        a = cmd.ack("s1")
        assert a and a["ok"], a
        assert sub.wait_for(lambda m: m[0] == BASE + "spectrum" and json.loads(m[1])["id"] == "s1", 30)
        ch = _chunks(sub, "spectrum", "s1")
        assert ch[0]["kind"] == "spectrum" and ch[0]["bins"] == 256 and abs(ch[0]["df_hz"] - 26667 / 2048 * 4) < 0.1
        amp = np.frombuffer(b"".join(base64.b64decode(c["data"]) for c in ch), "<u2") * ch[0]["scale_g"]
        assert 7000 < (int(np.argmax(amp[20:])) + 20.5) * ch[0]["df_hz"] < 9000  # the resonance, at full rate
        st = sub.wait_for(lambda m: m[0] == BASE + "status" and b'"env_band": [' in m[1]
                          and json.loads(m[1])["env_band"] != [lo0, hi0], 60)
        assert st is not None, (lo0, hi0)
        lo, hi = json.loads(st[1])["env_band"]
        assert lo < 8000 < hi and not lo0 < 8000 < hi0, ((lo0, hi0), (lo, hi))
    finally:
        cmd.close()
        node.kill()
        node.communicate()
        sub.close()
