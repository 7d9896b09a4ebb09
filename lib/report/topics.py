# MQTT topics of one node:
#
#   <prefix>/<site>/<node_id>/{status,telemetry,alarm,spectrum,waveform,event,cmd,cmd/ack}
#   <prefix>/<site>/<node_id>/ota/{get,data}   update chunks: the node asks, the release server answers
#
# The names are checked once, by the node's config (vibenode/config.py ident(): the rule for a
# node id, a site and the prefix; the node id is also the MQTT client id, a certificate CN and
# part of the portal's AP name), so no other module repeats or loosens that rule.

class Topics:
    def __init__(self, prefix, site, node_id):
        base = "%s/%s/%s/" % (prefix, site, node_id)
        self.base = base
        self.status = base + "status"
        self.telemetry = base + "telemetry"
        self.alarm = base + "alarm"
        self.spectrum = base + "spectrum"
        self.waveform = base + "waveform"
        self.event = base + "event"
        self.cmd = base + "cmd"
        self.cmd_ack = base + "cmd/ack"
        self.ota_get = base + "ota/get"
        self.ota_data = base + "ota/data"
