"""Node config: one validator on host and device, agreeing with the published JSON schema; precise
errors naming the field; secrets never echoed; atomic writes; last-good fallback through power cuts
and corruption, on the real MicroPython unix port."""
import copy
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from conftest import ROOT, Subscriber, mpy_case, start_node

sys.path.insert(0, os.path.join(ROOT, "firmware"))
from vibenode import config as hostconfig  # noqa: E402  the same file the device runs

SCHEMA = json.load(open(os.path.join(ROOT, "schemas", "config.schema.json")))
SECRETS_SCHEMA = json.load(open(os.path.join(ROOT, "schemas", "secrets.schema.json")))
KEY = "-----BEGIN PRIVATE KEY-----\n" + "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg" * 3 + "\n-----END PRIVATE KEY-----\n"
WIFI_PSK = "Wifi-Secret-4417"
BASE = {"node_id": "pump-07", "site": "plant1", "name": "Pump 7 drive end",
        "mqtt": {"host": "broker.plant1.lan"}, "wifi": {"networks": [{"ssid": "plant"}]},
        "sampling": {"rate": 3200, "range_g": 16, "window": 2048, "interval_s": 5}, "board": {"name": "esp32_devkitc"}}
BASE_SEC = {"wifi": {"plant": WIFI_PSK}, "client_key": KEY, "portal_psk": "label-pass-9931"}


def case(case_name, field=None, cfg=None, sec=None, files=("ca.pem", "client.pem"), schema=True, **patch):
    c = copy.deepcopy(BASE if cfg is None else cfg)
    for path, v in patch.items():
        d = c
        keys = path.split("__")
        for k in keys[:-1]:
            d = d.setdefault(k, {})
        if v is DEL:
            d.pop(keys[-1], None)
        else:
            d[keys[-1]] = v
    return {"name": case_name, "cfg": c, "sec": copy.deepcopy(BASE_SEC if sec is None else sec), "files": list(files),
            "field": field, "schema": schema}


DEL = object()
CASES = [
    case("base"),
    case("loopback_plaintext_default", cfg={"node_id": "sim-1", "mqtt": {"host": "127.0.0.1", "port": 1883}},
         sec={}, files=()),
    case("open_network", wifi={"networks": [{"ssid": "guest", "open": True}]}),
    case("integrations", ha={"enabled": True, "prefix": "homeassistant"}, sparkplug={"enabled": True, "group": "p1"}),
    case("ha_enabled_string", "ha.enabled", ha={"enabled": "yes"}),
    case("ha_prefix_slash", "ha.prefix", ha={"enabled": True, "prefix": "home/assistant"}),
    case("ha_not_object", "ha", ha=True),
    case("sparkplug_group_plus", "sparkplug.group", sparkplug={"enabled": True, "group": "plant+1"}),
    case("sparkplug_enabled_int", "sparkplug.enabled", sparkplug={"enabled": 1}),
    case("unknown_key_is_a_warning", smapling={"window": 1}),
    case("explicit_plaintext_remote", tls={"enabled": False}, files=()),
    case("no_mtls", tls={"cert": None}, files=("ca.pem",)),
    case("node_id_missing", "node_id", node_id=DEL),
    case("node_id_slash", "node_id", node_id="a/b"),
    case("node_id_too_long", "node_id", node_id="n" * 33),
    case("node_id_leading_dash", "node_id", node_id="-x"),
    case("site_space", "site", site="plant 1"),
    case("host_missing", "mqtt.host", mqtt__host=DEL),
    case("host_space", "mqtt.host", mqtt__host="broker plant"),
    case("port_range", "mqtt.port", mqtt__port=70000),
    case("port_string", "mqtt.port", mqtt__port="8883"),
    case("keepalive_negative", "mqtt.keepalive", mqtt__keepalive=-1),
    case("password_in_config", "mqtt.password", mqtt__password="hunter2-in-config"),
    case("prefix_slash", "mqtt.prefix", mqtt__prefix="a/b"),
    case("window_not_pow2", "sampling.window", sampling__window=1000),
    case("window_too_big", "sampling.window", sampling__window=8192),
    case("range_g", "sampling.range_g", sampling__range_g=3),
    case("rate_zero", "sampling.rate", sampling__rate=0),
    case("rate_bool", "sampling.rate", sampling__rate=True),
    case("interval_zero", "sampling.interval_s", sampling__interval_s=0),
    case("too_many_networks", "wifi.networks", wifi={"networks": [{"ssid": "n%d" % i} for i in range(6)]}),
    case("ssid_empty", "wifi.networks[0].ssid", wifi={"networks": [{"ssid": ""}]}),
    case("ssid_too_long", "wifi.networks[0].ssid", wifi={"networks": [{"ssid": "s" * 33}]}),
    case("country", "wifi.country", wifi={"networks": [{"ssid": "plant"}], "country": "USA"}),
    case("tls_enabled_string", "tls.enabled", tls={"enabled": "yes"}),
    case("tls_ca_path", "tls.ca", tls={"ca": "../etc/ca.pem"}),
    case("portal_timeout", "portal.timeout_s", portal={"timeout_s": 5}),
    case("portal_offline_short", "portal.offline_s", portal={"offline_s": 30}),
    case("portal_offline_bool", "portal.offline_s", portal={"offline_s": False}),
    case("portal_offline_off", portal={"offline_s": 0}),
    case("features_not_object", "features", features=[1, 2]),
    case("power_sleep", power={"mode": "sleep", "interval_s": 600}),
    case("power_mode", "power.mode", power={"mode": "hibernate"}),
    case("power_interval_short", "power.interval_s", power={"mode": "sleep", "interval_s": 5}),
    case("power_interval_float", "power.interval_s", power={"mode": "sleep", "interval_s": 60.5}),
    case("power_awake_max", "power.awake_max_s", power={"mode": "sleep", "awake_max_s": 1}),
    case("power_not_object", "power", power="sleep"),
    # baseline (vibenode/config.py _check_baseline, lib/baseline)
    case("baseline_ok", baseline={"learn": 300, "warn_z": 5, "alarm_z": 8.5, "m": 3, "n": 5, "k": 4,
                                  "report": {"every": 10, "deadband": 0.2}}),
    case("baseline_not_object", "baseline", baseline=[300]),
    case("baseline_learn_range", "baseline.learn", baseline={"learn": 5}),
    case("baseline_learn_float", "baseline.learn", baseline={"learn": 300.5}),
    case("baseline_floor_string", "baseline.floor", baseline={"floor": "0.1"}),
    case("baseline_enabled_type", "baseline.enabled", baseline={"enabled": 1}),
    case("baseline_m_above_n", "baseline.m", baseline={"m": 6, "n": 5}, schema=False),  # (cross-field)
    case("baseline_levels_order", "baseline.warn_z", baseline={"warn_z": 9, "alarm_z": 8}, schema=False),
    case("baseline_file_path", "baseline.file", baseline={"file": "../x.bin"}),
    case("baseline_report_every", "baseline.report.every", baseline={"report": {"every": 0}}),
    case("baseline_report_deadband", "baseline.report.deadband", baseline={"report": {"deadband": -1}}),
    case("name_control_char", "name", name="bad\x07name"),
    case("board_name_empty", "board.name", board={"name": ""}),
    case("mqtt_not_object", "mqtt", mqtt=[]),
    # checks only the validator can make (files on the node, secrets against config)
    case("wifi_psk_missing", "secrets.wifi", sec={"client_key": KEY}, schema=False),
    case("client_key_missing", "secrets.client_key", sec={"wifi": {"plant": WIFI_PSK}}, schema=False),
    case("ca_file_missing", "tls.ca", files=("client.pem",), schema=False),
    case("cert_file_missing", "tls.cert", files=("ca.pem",), schema=False),
    case("ssid_twice", "wifi.networks[1].ssid", wifi={"networks": [{"ssid": "plant"}, {"ssid": "plant"}]},
         schema=False),
    case("psk_too_short", "secrets.wifi[plant]", sec=dict(BASE_SEC, wifi={"plant": "Sh0rt!x"}), schema=False),
    case("psk_control", "secrets.wifi[plant]", sec=dict(BASE_SEC, wifi={"plant": "Tab\there-secret"}), schema=False),
    case("client_key_not_pem", "secrets.client_key", sec=dict(BASE_SEC, client_key="Z" * 120), schema=False),
    case("password_without_user", "secrets.mqtt.user", sec=dict(BASE_SEC, mqtt={"password": "Pw-Secret-881"}),
         schema=False),
    case("portal_psk_short", "secrets.portal_psk", sec=dict(BASE_SEC, portal_psk="Prt-77"), schema=False),
]
SECRET_VALUES = [WIFI_PSK, "Sh0rt!x", "Tab\there-secret", "Pw-Secret-881", "Prt-77", "label-pass-9931",
                 "MIGHAgEAMBMGByqGSM49"]


def host_check(c):
    w = []
    try:
        cfg = hostconfig.check(copy.deepcopy(c["cfg"]), copy.deepcopy(c["sec"]), lambda n: n in c["files"], w)
        return {"ok": True, "port": cfg["mqtt"]["port"], "tls": cfg["tls"]["enabled"], "warnings": w}
    except hostconfig.ConfigError as e:
        return {"ok": False, "error": str(e)}


@pytest.fixture(scope="module")
def device_verdicts(tmp_path_factory):
    d = tmp_path_factory.mktemp("cases")
    p = d / "cases.json"
    p.write_text(json.dumps(CASES))
    return mpy_case("config_cases", "check", {"file": str(p)})


def test_device_and_host_validators_agree_and_name_the_field(device_verdicts):
    assert len(device_verdicts) == len(CASES)
    for c, dev in zip(CASES, device_verdicts):
        assert host_check(c) == dev, c["name"]  # same code, same verdict, same words on both sides
        if c["field"] is None:
            assert dev["ok"], (c["name"], dev)
        else:
            assert not dev["ok"], c["name"]
            assert dev["error"].startswith(c["field"] + ":"), (c["name"], dev["error"])


def test_published_schema_agrees_with_the_validator(device_verdicts):
    n = 0
    for c, dev in zip(CASES, device_verdicts):
        if not c["schema"]:
            continue
        errs = list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(c["cfg"]))
        assert (not errs) == dev["ok"], (c["name"], [e.message for e in errs], dev)
        n += 1
    assert n >= 30
    for c in CASES:  # every valid case's secrets match the secrets schema too
        if c["field"] is None or not c["field"].startswith("secrets"):
            jsonschema.validate(c["sec"], SECRETS_SCHEMA)
    for c in CASES:
        if c["name"] in ("psk_too_short", "client_key_not_pem", "password_without_user", "portal_psk_short"):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(c["sec"], SECRETS_SCHEMA)


def test_safe_defaults_and_none_for_secrets(device_verdicts):
    v = {c["name"]: d for c, d in zip(CASES, device_verdicts)}
    assert v["base"]["tls"] is True and v["base"]["port"] == 8883  # remote broker: TLS by default
    assert v["loopback_plaintext_default"]["tls"] is False and v["loopback_plaintext_default"]["port"] == 1883
    assert v["no_mtls"]["ok"] and v["no_mtls"]["tls"] is True
    assert any("plaintext" in w for w in v["explicit_plaintext_remote"]["warnings"])
    assert any(w.startswith("smapling") for w in v["unknown_key_is_a_warning"]["warnings"])
    assert not v["wifi_psk_missing"]["ok"]  # no default passphrase, ever
    assert hostconfig.DEFAULTS.get("portal", {}).get("psk") is None
    flat = json.dumps(hostconfig.DEFAULTS)
    assert "password" not in flat and "psk" not in flat and "key\"" not in flat


def test_errors_never_contain_secret_values(device_verdicts):
    for c, dev in zip(CASES, device_verdicts):
        text = json.dumps(dev)
        for s in SECRET_VALUES:
            assert s not in text and json.dumps(s)[1:-1] not in text, (c["name"], s)


# ---- files: atomic writes, last good, power cuts --------------------------------------------


def test_last_good_config_survives_corruption_and_power_cuts(tmp_path):
    A = {"node_id": "pump-07", "site": "plant1", "mqtt": {"host": "127.0.0.1", "port": 1883},
         "wifi": {"networks": [{"ssid": "plant"}]}}
    SA = {"wifi": {"plant": WIFI_PSK}}
    B = dict(A, wifi={"networks": [{"ssid": "plant2"}]}, name="moved to line 2")
    SB = {"wifi": {"plant2": "Second-Secret-77"}}
    fs = tmp_path / "fs"
    fs.mkdir()
    r = mpy_case("config_cases", "save_load_powercut", {"A": A, "SA": SA, "B": B, "SB": SB}, cwd=str(fs))
    log = {e[0]: e[1:] for e in r["log"]}
    assert "config.good.json" not in log["loaded"][0]  # load() alone never promotes
    assert log["saved"][0] == "plant" and log["saved"][1] == {"source": "config.json"}
    assert "config.good.json" in log["saved"][2] and "secrets.good.json" in log["saved"][2]
    for what, field in (("truncated", "config.json: not valid JSON"), ("garbage", "config.json: not valid JSON"),
                        ("invalid", "sampling.window:"), ("bad_secrets", "secrets.wifi[plant]:")):
        who, st = log[what]
        assert who == "plant" and st["source"] == "config.good.json", (what, st)
        assert st["error"].startswith(field), (what, st)
    assert "short" not in json.dumps(log["bad_secrets"])
    assert log["save_invalid"][0].startswith("sampling.window:") and log["save_invalid"][1] is True
    assert log["none"][0] == "unprovisioned"
    assert log["invalid_no_fallback"][0] == "error" and "sampling.window" in log["invalid_no_fallback"][1]
    # power cuts: the node always boots, on A (maybe via the last good copy) or on B, never bricked
    out = r["outcomes"]
    assert not [k for k in out if k.startswith("BRICKED")], out
    assert set(out) <= {"plant", "plant/fallback", "plant2"}, out
    assert out.get("plant2") == 1  # only the uncut save gives B...
    assert out.get("plant", 0) + out.get("plant/fallback", 0) >= 60  # ...every cut before that gives A
    assert out.get("plant/fallback", 0) >= 1  # new secrets + old config (cut between the renames): last good
    assert r["cut_points"] > 60 and r["total"] > 150


def test_node_boots_on_last_good_config_and_says_why(broker, tmp_path):
    """Real provisioning output (tools/provision.py --out), real node on the unix port."""
    site = {"site": "plant1", "mqtt": {"host": "127.0.0.1", "port": broker.port, "keepalive": 10},
            "wifi": {"networks": [{"ssid": "plant"}]},
            "sampling": {"rate": 3200, "range_g": 16, "window": 256, "interval_s": 1},
            "board": {"name": "host", "sim": {"imbalance_g": [1.0, 0.0, 0.0], "noise_g": 0.0}}}
    (tmp_path / "site.json").write_text(json.dumps(site))
    (tmp_path / "secrets.json").write_text(json.dumps({"wifi": {"plant": WIFI_PSK}}))
    fs = tmp_path / "fs"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "provision.py"), "--node-id", "pump-07",
                        "--site", str(tmp_path / "site.json"), "--secrets", str(tmp_path / "secrets.json"),
                        "--out", str(fs), "--label", str(tmp_path / "labels.csv")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out1, _ = start_node(str(fs), cycles=8).communicate(timeout=60)  # last good once it published
    assert (fs / "config.good.json").exists(), out1
    raw = (fs / "config.json").read_bytes()
    (fs / "config.json").write_bytes(raw[:40])  # power cut / flash corruption
    sub = Subscriber(broker.port)
    node = start_node(str(fs), cycles=8)  # Wi-Fi must settle before the link comes up
    out2, _ = node.communicate(timeout=60)
    assert node.returncode == 0, out2
    assert sub.wait_for(lambda m: m[0].endswith("/telemetry"), timeout=20), out2
    st = [json.loads(p) for t, p, _ in sub.msgs if t.endswith("/status") and b'"online"' in p]
    sub.close()
    assert st and st[0]["config"]["source"] == "config.good.json", st
    assert st[0]["config"]["error"].startswith("config.json: not valid JSON")
    assert "running on the last good config" in out2
    psk = [ln for ln in open(tmp_path / "labels.csv")][1].strip().split(",")[2]
    for s in (WIFI_PSK, psk):
        assert s not in out1 + out2 + r.stdout + json.dumps(st)


def test_oversize_config_is_refused_by_size_and_the_last_good_one_runs(broker, tmp_path):
    """A config.json far larger than any real one (a runaway editor, flash garbage) is refused by
    its size, without reading it, and the node runs on the last good config, in a small heap."""
    from conftest import node_config, write_fs
    fs = write_fs(str(tmp_path / "fs"), node_config(broker.port))  # (last good once it published)
    out1, _ = start_node(fs, cycles=1).communicate(timeout=60)
    assert os.path.exists(os.path.join(fs, "config.good.json")), out1
    with open(os.path.join(fs, "config.json"), "w") as f:
        f.write('{"node_id": "sim-0001", "pad": "' + "x" * 200000 + '"}')
    node = start_node(fs, cycles=1, heapsize="320k")
    out2, _ = node.communicate(timeout=60)
    assert node.returncode == 0, out2
    assert "config.json: larger than 16384 bytes" in out2, out2
    assert "running on the last good config" in out2
    assert "MemoryError" not in out2
