# link: the node's connection to the plant network (Wi-Fi) and the broker (MQTT).


def drop(leaf):
    """Unload link.<leaf> (code loaded for a rare step: a connect attempt, a subscription): out of
    sys.modules and off this package, so its bytecode is freed; the next use imports it again."""
    import sys
    sys.modules.pop("link." + leaf, None)
    globals().pop(leaf, None)
