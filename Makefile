# SafeCity: `make demo` to try it, `make test` to run the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test test-future install install-test lock serve lint bench soak fuzz clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.installed

# Pin what is installed now (after a green `make test`) as the versions every install uses.
lock: install-test
	{ sed -n '1,2p' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^-e'; } > constraints.tmp
	mv constraints.tmp constraints.txt

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# The demo city comes alive: every demo sensor (3,000, each every 30 s: one left out would go
# "offline" after 10-15 minutes and bury the console in yellow alarms) at 100 readings/s, with a
# scripted gas leak, pipe burst, bridge overload, elevator trapping and vehicle off route in the
# first ten minutes; posts to the server once it is up; log demo-simulate.log. Ctrl-C stops both.
DEMO_URL = http://$${SAFECITY_HOST:-127.0.0.1}:$${SAFECITY_PORT:-8000}

demo: install
	$(BIN)/safecity demo
	@echo "simulated sensors start in a few seconds (log: demo-simulate.log)"
	( sleep 8 && $(BIN)/safecity simulate --via http --sensors 3000 --rate 100 --duration 86400 \
	    --url $(DEMO_URL) > demo-simulate.log 2>&1 ) & \
	$(BIN)/safecity serve

serve: install
	$(BIN)/safecity serve

test: install-test
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

# The same suite with the machine's clock moved ahead (a year by default) through libfaketime
# (Debian package faketime): no test may depend on today's date. Only the wall clock moves:
# timers and timeouts keep the real monotonic clock (libfaketime 0.9.10 cannot translate
# Python's thread waits), and tests/faketime/sitecustomize.py works around its sleep bug.
# PostgreSQL keeps real time; Go programs (nats-server) ignore LD_PRELOAD and keep it too.
FUTURE ?= +365d
test-future: install-test
	@command -v faketime >/dev/null || { echo "test-future needs faketime (apt-get install faketime)"; exit 1; }
	FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/tests/faketime faketime -f "$(FUTURE)" \
	  $(BIN)/python -m pytest -n 2 -q -p no:cacheprovider $(PYTEST_ARGS)

# schemathesis against a live demo server (a fresh SQLite demo city, `safecity serve` on a free
# port) as an administrator and a district officer; fails on any 5xx. Budget: FUZZ_MAX_EXAMPLES
# cases per operation (25) and FUZZ_MAX_SECONDS per account (150); see tests/fuzz.py.
fuzz: install-test
	$(BIN)/python -m tests.fuzz

# ruff (rules in pyproject.toml), the formatter's verdict, mypy --strict on the pure standards
# modules (LEC, matrix, GB 18218, hidden-danger workflow, CAP, alarm rules, the response rules:
# classes, grading, clocks, duplicates, levels, incident workflow — not its services; the
# enforcement rules: classes, draw, cases, discretion; indicator formulas and progress; stock;
# the nearest-source kernel),
# and the import contracts (core imports no capability; no cycles) with import-linter.
STRICT_MODULES = safecity/risk/points/lec.py safecity/risk/points/matrix.py \
  safecity/risk/major_hazards/hazmat.py \
  safecity/hazards/workflow.py safecity/warnings/cap.py safecity/monitoring/rules.py \
  safecity/response/classes.py safecity/response/clocks.py safecity/response/duplicates.py \
  safecity/response/errors.py safecity/response/grading.py safecity/response/levels.py \
  safecity/response/workflow.py \
  safecity/enforcement/classes.py safecity/enforcement/draw.py safecity/enforcement/cases.py \
  safecity/enforcement/discretion.py safecity/indicators/formula.py \
  safecity/indicators/progress.py safecity/indicators/definitions.py safecity/resources/stock.py \
  safecity/resources/multisource.py
lint: install-test
	$(BIN)/ruff check safecity tests bench
	$(BIN)/ruff format --check safecity tests bench
	$(BIN)/mypy --strict $(STRICT_MODULES)
	$(BIN)/lint-imports

bench: install-test
	$(BIN)/python bench/registry.py

# The demo (server + simulated sensors on SQLite) for SOAK_MINUTES (30); fails on any 5xx.
soak: install
	$(BIN)/python bench/soak.py --minutes $${SOAK_MINUTES:-30}

clean:
	rm -rf $(VENV) safecity.db safecity.db-wal safecity.db-shm build *.egg-info
