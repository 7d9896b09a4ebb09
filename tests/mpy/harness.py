# Runs one case of a MicroPython test module and prints its result as one line `RESULT <json>`:
#   micropython tests/mpy/<module>.py CASE [JSON-ARGS | @args.json]
# A case is a function of the module taking the decoded arguments (a dict) and returning what the
# pytest side checks. On a board: import the module and call the case, e.g. sensors_accel.trace({...}).
import json
import sys


def result(obj):
    print("RESULT " + json.dumps(obj))


def main(ns):
    args = sys.argv[2] if len(sys.argv) > 2 else "{}"
    if args.startswith("@"):
        with open(args[1:]) as f:
            args = f.read()
    result(ns[sys.argv[1]](json.loads(args)))
