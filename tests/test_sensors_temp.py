"""Temperature sensors: TMP117 and MAX31865 drivers against data-sheet worked examples, the
IEC 60751 platinum table, byte-exact transactions, named faults."""
import pytest

from conftest import mpy_case

# IEC 60751 reference table, PT100 (ohm)
IEC_PT100 = {-200: 18.52, -100: 60.26, -50: 80.31, 0: 100.00, 25: 109.73, 100: 138.51, 200: 175.86,
             400: 247.09, 850: 390.48}


def test_tmp117_conversion_worked_examples():
    r = mpy_case("sensors_temp", "tmp117_conversions")
    # SNOSD82: 1 LSB = 7.8125 mC; 0x0C80 = 25 C; two's complement
    assert r["c"] == [25.0, 200.0, -40.0, 0.0078125, -0.0078125, -256.0, 255.9921875]
    assert r["raw"] == [0x0C80, 0xEC00, 0x0001]


def test_tmp117_bytes_not_ready_then_25c_and_alert():
    r = mpy_case("sensors_temp", "tmp117_bytes")
    assert r["cfg"] == [
        ["r", 0x48, 0x0F, "0117"],  # Device_ID
        ["w", 0x48, 0x01, "0220"],  # CONV 100 (1 s) | AVG 01 (8), continuous, alert mode
        ["w", 0x48, 0x02, "0c00"],  # THigh_Limit 24.0 C = 3072 x 7.8125 mC
        ["r", 0x48, 0x01, "0220"],  # read back (flags clear)
    ]
    assert r["first"] == "not_ready" and r["h0"] == "not_ready"  # 0x8000 until a conversion ends
    assert r["rd"] == [["r", 0x48, 0x01, "a220"],  # HIGH_Alert | Data_Ready latched
                       ["r", 0x48, 0x00, "0c80"]]  # 25.0 C
    assert r["c"] == 25.0 and r["alert"] == "high" and r["health"] == "ok"


def test_cvd_against_iec_60751_table_both_directions():
    r = mpy_case("sensors_temp", "cvd_table", {"ts": list(IEC_PT100), "ohms": list(IEC_PT100.values())})
    for t_ref, t in zip(IEC_PT100, r["t"]):
        assert abs(t - t_ref) < 0.03, (t_ref, t)  # table rounded to 0.01 ohm (~0.026 C)
    for (t_ref, ohm), rr in zip(IEC_PT100.items(), r["r"]):
        assert abs(rr - ohm) < 0.006, (t_ref, rr)
    assert abs(r["pt1000"] - 100.0) < 0.01


def test_max31865_worked_example_code_8192_is_100_ohm_0c_with_exact_bytes():
    r = mpy_case("sensors_temp", "max31865_worked_example")
    lo = round(18.52 * 32768 / 400) << 1  # low threshold at -200 C, high at 850 C (bit 0 unused)
    hi = round(390.48 * 32768 / 400) << 1
    assert r["cfg"] == [
        ["w", "80"], ["w", "d1"],  # config (write 0x80): VBIAS | auto | 3-wire | 50 Hz
        ["w", "83"], ["w", "%04x" % hi],  # high fault threshold MSB/LSB
        ["w", "85"], ["w", "%04x" % lo],  # low fault threshold
        ["w", "80"], ["w", "d3"],  # fault status clear (self-clearing)
        ["w", "00"], ["r", "d1"],  # read back config
    ]
    assert r["rd"] == [["w", "01"], ["r", "4000"]]  # RTD = 8192 << 1, no fault bit
    assert r["ohm"] == 100.0  # 8192 x 400 / 32768
    assert abs(r["c"]) < 1e-9


def test_max31865_pt100_on_the_host_board_tracks_the_machine():
    r = mpy_case("sensors_temp", "max31865_host_board")
    assert r["name"] == "max31865" and r["health"] == "ok"
    assert abs(r["c"] + 38.0) < 0.03  # below 0 C: the C coefficient matters (~0.02 C at -38)


def test_max31865_faults_are_named_and_recover():
    r = mpy_case("sensors_temp", "max31865_faults")
    assert r["all"] == ["rtd_high_threshold", "rtd_low_threshold", "refin_high", "refin_low_force_open",
                        "rtdin_low_force_open", "over_under_voltage"]
    assert r["open"][0] == "rtd_fault" and "rtd_high_threshold" in r["open"][1] and r["open"][2] == "rtd_fault"
    assert "rtdin_low_force_open" in r["open_cycle"]
    assert r["short"][0] == "rtd_fault" and r["short"][3] == ["rtd_low_threshold"]
    assert "rtd_low_threshold" in r["short_cycle"]
    for k in ("open_back", "short_back"):
        assert abs(r[k][0] - 25.0) < 0.05 and r[k][1] == "ok"
    assert r["stuck"] == ["absent", "absent"]
    assert abs(r["unstuck"] - 25.0) < 0.05


def test_tmp117_faults_absent_stuck_bitflip_recover():
    r = mpy_case("sensors_temp", "tmp117_faults")
    assert r["absent"][0] == "absent" and "no ACK" in r["absent"][1]
    assert r["flip"][0] == "absent" and "wrong_id" in r["flip"][1]  # the one slot answered wrongly
    assert r["ok"] == 25.0
    assert r["stuck"] == ["bus_timeout", "bus_timeout"]
    assert r["back"] == [25.0, "ok"]
