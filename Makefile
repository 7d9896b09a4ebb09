# vibenode: `make demo` (a simulated node publishing to a local broker) and `make test`.
PY      := .venv/bin/python
MPY     := .venv/bin/micropython
BOARD   ?= host
PORT    ?= /dev/ttyUSB0
DURATION ?=
FILE    ?=
STAMP   := .venv/.setup-stamp

.PHONY: setup build build-all deploy demo test bench clean provision fleet monitor

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
	$(PY) tools/demo.py $(if $(DURATION),--duration $(DURATION)) $(if $(FILE),--replay $(FILE))

monitor: setup
	$(PY) tools/monitor.py

test: setup
	$(PY) -m pytest -q tests

bench: setup
	$(PY) tools/bench.py

clean:
	rm -rf build dist .pytest_cache
