"""Config sections (issue 10 item 4): every key of every section typed and range-checked by the one
validator (vibenode/config.py + its tables in vibenode/cfgspec.py, host and device), the published
schema saying the same; a config becomes last good only once the node published a reading on it;
a boot that raises on config.json's content runs on the last good config and says why. Real
Mosquitto, the real unix port."""
import json
import os
import subprocess

import jsonschema
import pytest

from conftest import Subscriber, mpy_case, node_config, start_node, write_fs
from test_config import SCHEMA, case, host_check

FULL = {"sensors": {"accel": {"chip": "adxl345", "bus": "i2c0", "addr": 83}, "temp": None},
        "features": {"top_k": 5, "bands": [[2, 10], [10, 100], [100, 1000]], "hf_band": [1000, 1500],
                     "velocity": {"band": [10, 1000], "group": 1, "foundation": "flexible"}, "rpm": "auto",
                     "rpm_range": [600, 3600], "bearing": {"geometry": {"balls": 9, "ball_d": 7.94, "pitch_d": 39.04}},
                     "envelope": {"band": [500, 1500], "harmonics": 3, "tol": 0.01, "alarm": 4},
                     "export": {"bins": 128}},
        "machine": {"name": "pump", "group": 2, "foundation": "rigid", "rpm": 1480},
        "bearing": {"multiples": {"BPFO": 3.5848, "BPFI": 5.4152}},
        "alarms": {"hysteresis": 0.1, "rules": [{"metric": "rms", "axis": "any", "warn": 0.7, "alarm": 1.4}]},
        "reporting": {"max_window": 4096}, "store": {"dir": "queue", "seq_file": "seq.json", "seq_block": 50,
                                                     "capacity": 5000},
        "link": {"dns": "10.0.0.1:53", "backoff_min_s": 0.5, "backoff_max_s": 60},
        "ntp": {"host": "pool.ntp.org", "port": 123, "timeout_s": 1}, "portal": {"timeout_s": 300, "offline_s": 0}}
CASES = [
    case("all_sections", **FULL),
    case("rpm_fixed_hf_off", features={"rpm": 1796, "hf_band": None, "bearing": None}),
    case("link_unknown_key_warns", link={"backof_min_s": 1}),
    case("link_backoff_string", "link.backoff_min_s", link={"backoff_min_s": "x"}),
    case("link_backoff_order", "link.backoff_min_s", link={"backoff_min_s": 9, "backoff_max_s": 2}, schema=False),
    case("link_dns_name", "link.dns", link={"dns": "resolver.lan"}),
    case("alarms_rules_string", "alarms.rules", alarms={"rules": "x"}),
    case("alarms_metric", "alarms.rules[0].metric", alarms={"rules": [{"metric": "loud", "warn": 1, "alarm": 2}]}),
    case("alarms_warn_missing", "alarms.rules[0].warn", alarms={"rules": [{"metric": "rms", "alarm": 2}]}),
    case("alarms_below_warn", "alarms.rules[0].alarm", alarms={"rules": [{"metric": "rms", "warn": 3, "alarm": 2}]},
         schema=False),
    case("alarms_hysteresis", "alarms.hysteresis", alarms={"hysteresis": 0.9}),
    case("alarms_too_many", "alarms.rules", alarms={"rules": [{"metric": "rms", "warn": 1, "alarm": 2}] * 9}),
    case("store_capacity_string", "store.capacity", store={"capacity": "many"}),
    case("store_capacity_small", "store.capacity", store={"capacity": 5}),
    case("store_dir_path", "store.dir", store={"dir": "../q"}),
    case("store_seq_block", "store.seq_block", store={"seq_block": 0}),
    case("ntp_port", "ntp.port", ntp={"port": 0}),
    case("ntp_timeout", "ntp.timeout_s", ntp={"timeout_s": 60}),
    case("reporting_max_window", "reporting.max_window", reporting={"max_window": 1000}),
    case("reporting_below_window", "reporting.max_window", reporting={"max_window": 1024}, schema=False),
    case("top_k", "features.top_k", features={"top_k": 17}),
    case("band_reversed", "features.bands[0]", features={"bands": [[10, 5]]}, schema=False),
    case("bands_too_many", "features.bands", features={"bands": [[1, 2]] * 9}),
    case("band_above_nyquist", "features.bands", features={"bands": [[2000, 3000]]}, schema=False),
    case("velocity_group", "features.velocity.group", features={"velocity": {"group": 7}}),
    case("velocity_foundation", "features.velocity.foundation", features={"velocity": {"foundation": "soft"}}),
    case("rpm_word", "features.rpm", features={"rpm": "fast"}),
    case("envelope_harmonics", "features.envelope.harmonics", features={"envelope": {"harmonics": 0}}),
    case("export_bins", "features.export.bins", features={"export": {"bins": 8}}),
    case("geometry_balls", "features.bearing.geometry.balls",
         features={"bearing": {"geometry": {"balls": 0, "ball_d": 7.9, "pitch_d": 39}}}),
    case("geometry_pitch", "features.bearing.geometry.pitch_d",
         features={"bearing": {"geometry": {"balls": 9, "ball_d": 39, "pitch_d": 7.9}}}, schema=False),
    case("multiple_negative", "bearing.multiples.BPFO", bearing={"multiples": {"BPFO": -1}}),
    case("sensor_addr", "sensors.accel.addr", sensors={"accel": {"chip": "adxl345", "addr": 200}}),
    case("temp_wires", "sensors.temp.wires", sensors={"temp": {"chip": "max31865", "wires": 5}}),
    case("machine_group", "machine.group", machine={"group": 3}),
    case("hostname_empty", "wifi.hostname", wifi={"networks": [{"ssid": "plant"}], "hostname": ""}),
    case("ntp_not_object", "ntp", ntp="pool.ntp.org"),
]


@pytest.fixture(scope="module")
def device_verdicts(tmp_path_factory):
    p = tmp_path_factory.mktemp("sections") / "cases.json"
    p.write_text(json.dumps(CASES))
    return mpy_case("config_cases", "check", {"file": str(p)})


def test_every_section_key_is_checked_by_the_one_validator(device_verdicts):
    assert len(device_verdicts) == len(CASES)
    for c, dev in zip(CASES, device_verdicts):
        assert host_check(c) == dev, c["name"]  # host tools and the device: same verdict, same words
        if c["field"] is None:
            assert dev["ok"], (c["name"], dev)
        else:
            assert not dev["ok"], c["name"]
            assert dev["error"].startswith(c["field"] + ":"), (c["name"], dev["error"])
    warn = device_verdicts[[c["name"] for c in CASES].index("link_unknown_key_warns")]["warnings"]
    assert "link.backof_min_s: unknown key, ignored" in warn


def test_the_schema_says_the_same_for_every_section():
    v = jsonschema.Draft202012Validator(SCHEMA)
    for c in CASES:
        if c["schema"]:
            assert (not list(v.iter_errors(c["cfg"]))) == (c["field"] is None), c["name"]
    for name in ("sensors", "features", "machine", "bearing", "alarms", "reporting", "store", "link", "ntp"):
        assert SCHEMA["properties"][name].get("properties"), name  # no section is an open object any more


def test_every_section_has_its_rules():
    """A section named in config.OPEN_SECTIONS without a table (or a table for no known section)
    would go unchecked (or be warned about as unknown)."""
    from vibenode import cfgspec, config
    assert set(config.OPEN_SECTIONS) | {"wifi", "portal"} == set(cfgspec.SECTIONS)
    assert set(cfgspec.SECTIONS) <= set(SCHEMA["properties"])


# ---- the node: bad content never becomes last good; boot errors fall back ---------------------
def _run(fs, cycles, timeout=60):
    node = start_node(fs, cycles=cycles)
    try:
        out, _ = node.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # (a crash-reboot loop never ends)
        node.kill()
        out, _ = node.communicate()
        pytest.fail("node did not finish %d cycles: %s" % (cycles, out[-2000:]))
    return node.returncode, out


def _good(fs, port):
    """A node that ran on a good config (it published): config.good.json holds it."""
    write_fs(fs, node_config(port))
    rc, out = _run(fs, 1)
    assert rc == 0 and os.path.exists(os.path.join(fs, "config.good.json")), out
    return open(os.path.join(fs, "config.good.json"), "rb").read()


@pytest.mark.parametrize("section,value,field", [
    ("link", {"backoff_min_s": "x"}, "link.backoff_min_s"),
    ("alarms", {"rules": "x"}, "alarms.rules"),
    ("store", {"capacity": "many"}, "store.capacity"),
])
def test_a_bad_section_is_refused_and_the_node_runs_on_the_last_good(broker, tmp_path, section, value, field):
    fs = str(tmp_path / "fs")
    good = _good(fs, broker.port)
    write_fs(fs, node_config(broker.port, **{section: value}))
    sub = Subscriber(broker.port)
    rc, out = _run(fs, 3)
    tel = sub.wait_for(lambda m: m[0].endswith("/telemetry"), timeout=10)
    st = [json.loads(p) for t, p, _ in sub.msgs if t.endswith("/status") and b'"online"' in p]
    sub.close()
    assert rc == 0 and "hostboot: reset" not in out, out[-3000:]
    assert tel is not None, out[-3000:]
    assert st and st[0]["config"]["source"] == "config.good.json", st
    assert st[0]["config"]["error"].startswith(field + ":"), st
    assert open(os.path.join(fs, "config.good.json"), "rb").read() == good  # never promoted


def test_a_config_that_never_published_does_not_replace_the_good_one(broker, tmp_path):
    fs = str(tmp_path / "fs")
    good = _good(fs, broker.port)
    write_fs(fs, node_config(1))  # valid, but its broker is not there: the node never publishes on it
    rc, out = _run(fs, 2)
    assert rc == 0, out[-3000:]
    assert open(os.path.join(fs, "config.good.json"), "rb").read() == good
    write_fs(fs, node_config(broker.port, name="moved"))  # valid and it publishes (after the replay): promoted
    rc, out = _run(fs, 4)
    assert json.loads(open(os.path.join(fs, "config.good.json")).read()).get("name") == "moved", out[-2000:]


def test_a_boot_error_from_config_content_runs_on_the_last_good_config(broker, tmp_path):
    """store.dir naming a file passes the table (a plain file name) but the queue cannot open it:
    the node falls back to the last good config for this boot, says why, and publishes."""
    fs = str(tmp_path / "fs")
    good = _good(fs, broker.port)
    write_fs(fs, node_config(broker.port, store={"dir": "config.json"}))
    sub = Subscriber(broker.port)
    rc, out = _run(fs, 3)
    tel = sub.wait_for(lambda m: m[0].endswith("/telemetry"), timeout=10)
    st = [json.loads(p) for t, p, _ in sub.msgs if t.endswith("/status") and b'"online"' in p]
    sub.close()
    assert rc == 0 and "hostboot: reset" not in out, out[-3000:]
    assert tel is not None, out[-3000:]
    assert st and st[0]["config"]["source"] == "config.good.json", st
    assert st[0]["config"]["error"].startswith("boot failed on config.json: OSError"), st
    assert open(os.path.join(fs, "config.good.json"), "rb").read() == good
