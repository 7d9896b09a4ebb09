# link: the node's connection to the plant network (Wi-Fi) and the broker (MQTT).
