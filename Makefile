# vibenode: `make demo` (a simulated node publishing to a local broker) and `make test`.
PY      := .venv/bin/python
MPY     := .venv/bin/micropython
BOARD   ?= host
PORT    ?= /dev/ttyUSB0
DURATION ?=
FILE    ?=
CHIP    ?=
OUTAGE  ?=
FILE_RATE ?=
FILE_SCALE ?=
RPM     ?=
TEMP    ?=
STAMP   := .venv/.setup-stamp

.PHONY: setup build build-all deploy demo test test-32 bench clean provision fleet monitor firmware memory

$(STAMP): requirements-host.txt tools/setup.py
	python3 tools/setup.py

setup: $(STAMP)
	@python3 tools/setup.py

build: setup
	$(PY) tools/build.py $(BOARD)

build-all: setup
	$(PY) tools/build.py --all

# a MicroPython image with the node frozen in (boards/<board>/manifest.py); needs a MicroPython
# checkout and ESP-IDF: make firmware BOARD=esp32_devkitc MPY_DIR=~/micropython IDF_PATH=~/esp/esp-idf
firmware: setup
	$(PY) tools/firmware.py $(BOARD) $(if $(MPY_DIR),--mpy-dir $(MPY_DIR)) $(if $(IDF_PATH),--idf-path $(IDF_PATH))

deploy: setup
	$(PY) tools/deploy.py --board $(BOARD) --port $(PORT)

demo: setup
	$(PY) tools/demo.py $(if $(DURATION),--duration $(DURATION)) $(if $(FILE),--replay $(FILE) $(if $(FILE_RATE),--replay-rate $(FILE_RATE)) $(if $(FILE_SCALE),--replay-scale $(FILE_SCALE)) $(if $(RPM),--replay-rpm $(RPM))) $(if $(OUTAGE),--outage $(OUTAGE)) $(if $(CHIP),--chip $(CHIP)) $(if $(TEMP),--temp $(TEMP)) $(if $(MONITOR_PORT),--monitor-port $(MONITOR_PORT)) $(if $(SLEEP),--sleep $(SLEEP)) $(if $(HA),--ha) $(if $(SPARKPLUG),--sparkplug) $(if $(DEGRADE),--degrade $(DEGRADE)) $(if $(UPDATE),--update)

# the dashboard: make monitor [MQTT_HOST=127.0.0.1 MQTT_PORT=1883] [DB=monitor.db|postgresql://...] [HTTP_PORT=8080]
monitor: setup
	$(PY) tools/monitor.py $(if $(MQTT_HOST),--host $(MQTT_HOST)) $(if $(MQTT_PORT),--port $(MQTT_PORT)) \
		$(if $(DB),--db $(DB)) $(if $(HTTP_PORT),--http-port $(HTTP_PORT))

# provision one node: make provision NODE=pump-07 SITE=site.json [SECRETS=secrets.json] [FLEET=fleet]
#                     (PORT=/dev/ttyUSB0 | OUT=dir) [LABEL=labels.csv]
NODE    ?=
SITE    ?=
SECRETS ?=
OUT     ?=
FLEET   ?= fleet
LABEL   ?=
CMD     ?= list
provision: setup
	@test -n "$(NODE)" -a -n "$(SITE)" || { echo "usage: make provision NODE=<id> SITE=<site.json> [SECRETS=<secrets.json>] [FLEET=dir] (PORT=<port> | OUT=<dir>)"; exit 2; }
	$(PY) tools/provision.py --node-id $(NODE) --site $(SITE) $(if $(SECRETS),--secrets $(SECRETS)) \
		$(if $(wildcard $(FLEET)/ca.pem),--fleet $(FLEET)) $(if $(LABEL),--label $(LABEL)) \
		$(if $(OUT),--out $(OUT),--port $(PORT))

# fleet PKI and broker policy: make fleet CMD="init" | CMD="issue pump-07 --site plant1" | CMD="revoke pump-07"
#   | CMD="mosquitto --out /etc/mosquitto/vibenode" | CMD="batch --site-file s.json --secrets x.json --nodes ids.txt --out dir"
fleet: setup
	$(PY) tools/fleet.py --dir $(FLEET) $(CMD)

# a simulated plant: N host-board nodes (one of each machine in turn), one broker, the collector
# storing them (and the dashboard): make fleet-sim N=50 [INTERVAL=5] [TLS=1] [DB=file|postgresql://..|pg] [DURATION=s]
N        ?= 7
INTERVAL ?=
TLS      ?=
DB       ?=
.PHONY: fleet-sim
fleet-sim: setup
	$(PY) tools/fleetsim.py --n $(N) $(if $(INTERVAL),--interval $(INTERVAL)) $(if $(TLS),--tls) $(if $(DB),--db $(DB)) $(if $(DURATION),--duration $(DURATION))

test: setup
	$(PY) -m pytest -q tests

# the device tests (marker `device`) on a 32-bit MicroPython (ESP32 object sizes, 31-bit small ints) against
# build/host-x86; then the kernel tests on RV32 (ESP32-C3 ISA) under QEMU where its runner is at hand
MPY32   ?= $(abspath $(dir $(abspath .))/shared/tools/micropython-i386/micropython)
RV32    ?= $(abspath $(dir $(abspath .))/shared/tools/micropython-rv32-qemu/run)
test-32: setup
	@test -x "$(MPY32)" || { echo "test-32: no 32-bit MicroPython at $(MPY32) (README: 32-bit test run); set MPY32=<path>"; exit 2; }
	VN_MPY=$(MPY32) VN_RV32=$(RV32) $(PY) -m pytest -q -rs -m device tests

bench: setup
	RV32=$(RV32) $(if $(wildcard $(MPY32)),MPY32=$(MPY32)) $(PY) tools/bench.py

# the node's heap on a 32-bit MicroPython (an ESP32's object sizes): make memory [MPY32=<path>]
# [CHIP=iis3dwb [AXES=1|2|3]] (the wide-band node: 6 windows of 1.23 s)
memory: setup
	$(if $(wildcard $(MPY32)),MPY32=$(MPY32)) $(PY) tools/memory.py $(if $(INTEGRATIONS),--integrations $(INTEGRATIONS)) $(if $(BASELINE),--baseline) $(if $(CHIP),--chip $(CHIP) --cycles 6 $(if $(AXES),--stream-axes $(AXES)))

# signed application updates (lib/ota): make release BOARD=esp32_devkitc [FLEET=fleet] -> dist/<board>-<version>;
# make ota-serve [DIST=dist] [MQTT_HOST=..] [MQTT_PORT=..] answers nodes' chunk requests after an `ota` command
DIST ?= dist
.PHONY: release ota-serve
release: setup
	$(PY) tools/release.py $(BOARD) --fleet $(FLEET)
ota-serve: setup
	$(PY) tools/otaserve.py --dist $(DIST) $(if $(MQTT_HOST),--host $(MQTT_HOST)) $(if $(MQTT_PORT),--port $(MQTT_PORT))

clean:
	rm -rf build dist .pytest_cache
