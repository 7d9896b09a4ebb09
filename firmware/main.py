# MicroPython runs main.py after boot.py: pick the application tree (A/B updates: appsel.py),
# then start the node.
import appsel

app = appsel.select()
try:
    import vibenode.app
except Exception as e:
    if not app:
        raise
    # an updated tree that cannot even load: restart, appsel counts the boot and rolls back
    import sys
    import machine
    sys.print_exception(e)
    machine.reset()
vibenode.app.main()
