# SafeCity: `make demo` to try it, `make test` to run the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test install install-test serve lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

demo: install
	$(BIN)/safecity demo
	$(BIN)/safecity serve

serve: install
	$(BIN)/safecity serve

test: install-test
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check safecity tests bench

bench: install-test
	$(BIN)/python bench/registry.py

clean:
	rm -rf $(VENV) safecity.db safecity.db-wal safecity.db-shm build *.egg-info
