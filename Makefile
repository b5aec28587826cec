# The task runner: CI runs `make test`, exactly what README says.
CARGO ?= cargo
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: build test lint unit e2e venv bench-ingest bench-gateway clean

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

$(VENV)/.installed: tests/e2e/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r tests/e2e/requirements.txt
	touch $@

venv: $(VENV)/.installed

e2e: build venv
	$(PY) -m pytest -q tests/e2e

test: lint unit e2e

bench-ingest:
	bash bench/ingest.sh

bench-gateway:
	bash bench/gateway.sh

clean:
	$(CARGO) clean
	rm -rf $(VENV)
