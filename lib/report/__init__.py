# report: what the node says on MQTT: topics and client id rules (topics.py), payload encoding
# (encode.py) and alarm state with hysteresis (alarm.py). The contract is docs/mqtt.md.
