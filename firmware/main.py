# MicroPython runs main.py after boot.py: start the node.
import vibenode.app

vibenode.app.main()
