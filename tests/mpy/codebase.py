# heap taken by code and the host board's world (what a device keeps in flash / does not have)
import gc
import json
import hostboot, board, machine, network, simclock, simulator
import vibenode.app, vibenode.config, vibenode.commands, vibenode.supervisor, vibenode.log
import link.mqtt, link.wifi, store.queue, store.seqno, store.atomic, report.alarm, report.encode, report.topics
import features.engine, window.sampler, sensors.detect, sensors.adxl345
import sensors.max31865  # probed by the temperature detection on every boot
cfg = vibenode.config.load()
b = board.make(cfg)

gc.collect()
print("RESULT " + json.dumps({"base": gc.mem_alloc()}))
