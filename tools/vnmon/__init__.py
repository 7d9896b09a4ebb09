"""vnmon: the host-side monitor of a vibenode fleet (CPython 3.11).

    schema.py     validates every MQTT message against schemas/*.schema.json
    store.py      SQLite (default) or PostgreSQL store and the query API the dashboard uses
    collector.py  paho-mqtt subscriber: validate, buffer, store (dedupe and gaps: writer.py)
    captures.py   reassembly of chunked spectrum/waveform captures
    sqldb.py      the SQLite / PostgreSQL backends; pgtmp.py a throwaway PostgreSQL cluster
    synth.py      synthetic schema-valid telemetry (benchmarks, tests)
    fleetsim.py   `make fleet-sim N=..`: N host-board nodes with their own machines
"""
