# Field checks the command families share (vibenode/cmd_*.py; loaded with the family that needs
# them, dropped after): a bad field raises commands.Invalid("<field>: <problem>").
from vibenode.commands import Invalid


def number(v, field, lo, hi):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Invalid("%s: must be a number" % field)
    if not (lo <= v <= hi):  # also false for NaN
        raise Invalid("%s: must be from %s to %s" % (field, lo, hi))
    return v


def integer(v, field, lo, hi):
    if isinstance(v, bool) or not isinstance(v, int):
        raise Invalid("%s: must be an integer" % field)
    if not (lo <= v <= hi):
        raise Invalid("%s: must be from %d to %d" % (field, lo, hi))
    return v


def choice(v, field, options):
    if not isinstance(v, str) or v not in options:
        raise Invalid("%s: must be one of %s" % (field, ", ".join(options)))
    return v
