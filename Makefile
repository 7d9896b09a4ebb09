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

.PHONY: setup build build-all deploy demo test bench clean provision fleet monitor memory

$(STAMP): requirements-host.txt tools/setup.py
	python3 tools/setup.py

setup: $(STAMP)
	@python3 tools/setup.py

build: setup
	$(PY) tools/build.py $(BOARD)

build-all: setup
	$(PY) tools/build.py --all

deploy: setup
	$(PY) tools/deploy.py --board $(BOARD) --port $(PORT)

demo: setup
	$(PY) tools/demo.py $(if $(DURATION),--duration $(DURATION)) $(if $(FILE),--replay $(FILE) $(if $(FILE_RATE),--replay-rate $(FILE_RATE)) $(if $(FILE_SCALE),--replay-scale $(FILE_SCALE)) $(if $(RPM),--replay-rpm $(RPM))) $(if $(OUTAGE),--outage $(OUTAGE)) $(if $(CHIP),--chip $(CHIP)) $(if $(TEMP),--temp $(TEMP))

monitor: setup
	$(PY) tools/monitor.py

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

test: setup
	$(PY) -m pytest -q tests

bench: setup
	MPY32=$(MPY32) $(PY) tools/bench.py

# the node's heap on a 32-bit MicroPython (an ESP32's object sizes): make memory MPY32=<path>
MPY32   ?=
memory: setup
	MPY32=$(MPY32) $(PY) tools/memory.py

clean:
	rm -rf build dist .pytest_cache
