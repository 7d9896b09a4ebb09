# The reading payloads (contract: docs/mqtt.md, schemas/telemetry.schema.json, alarm.schema.json):
# one per window (the three axes' features), one with the temperature alone when no
# accelerometer window was taken, and one per alarm state change.
from report.encode import time_synced


def telemetry(node_id, seq, ts, smp, eng, odr, dropped):
    """The reading of one window. One dict of its final size, optional keys removed (a key
    added later would regrow its table: a fresh block in a full heap); the slots of removed
    keys take the ones add_temperature adds."""
    rep = {"node": node_id, "seq": seq, "ts": ts, "rate": smp.rate_measured_mhz / 1000, "n": smp.n, "odr": odr,
           "x": eng.result(0), "y": eng.result(1), "z": eng.result(2),
           "overrun": True, "lost": smp.window_lost,
           "overruns": smp.overruns,  # windows with FIFO overruns (this sampler)
           "dropped": dropped,  # windows discarded on bus errors
           "unsync": True,  # the clock was never set (no NTP yet): ts is uptime-based
           "temp_c": None, "die_c": None}
    if not smp.window_overrun:
        del rep["overrun"]
        del rep["lost"]
    if not (smp.overruns or dropped):
        del rep["overruns"]
        del rep["dropped"]
    if time_synced(ts):
        del rep["unsync"]
    del rep["temp_c"]
    del rep["die_c"]
    return rep


def temperature_only(node_id, seq, ts):
    rep = {"node": node_id, "seq": seq, "ts": ts}
    if not time_synced(ts):
        rep["unsync"] = True
    return rep


def add_temperature(rep, temp_c, die_c):
    """temp_c (the temperature sensor) and die_c (the accelerometer's die) where measured."""
    if temp_c is not None:
        rep["temp_c"] = round(temp_c, 3)
    if die_c is not None:
        rep["die_c"] = round(die_c, 2)
    return rep


def alarm(node_id, rep, rule, old, new, v, lim):
    return {"node": node_id, "seq": rep["seq"], "ts": rep["ts"], "metric": rule["metric"],
            "axis": rule.get("axis", "any"), "state": new, "prev": old, "value": v, "limit": lim}
