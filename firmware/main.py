# MicroPython runs main.py after boot.py: pick the application tree (A/B updates: appsel.py),
# then start the node.
import appsel

appsel.select()
import vibenode.app

vibenode.app.main()
