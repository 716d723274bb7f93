# ztlake: `make demo` sets everything up and runs the demo enterprise; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-12)
DEMO_DIR ?= demo
DEMO_ARGS ?=

.PHONY: setup jars browser demo test lint bench clean dev

setup: $(STAMP) jars browser  ## Python venv with pinned packages + Delta Lake jars from Maven Central + headless Chromium

$(STAMP): pyproject.toml
	@command -v java >/dev/null || { echo "error: Java 17 is required (java not on PATH)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip wheel
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

jars:
	./scripts/fetch_jars.sh

browser:  ## Debian's Chromium, for the report's rendering test (headless, no network)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }) \
	      && echo "installed $$(chromium --version)"; \
	  else echo "note: install Chromium (e.g. 'sudo apt-get install chromium') to run the report's browser test"; fi; }

demo: setup  ## generate the demo enterprise and run every night of it through Dagster
	$(BIN)/ztlake demo --out $(DEMO_DIR) $(DEMO_ARGS)

test: setup  ## the whole test suite (real Spark, Delta, Dagster, GE, MLflow)
	$(BIN)/pytest -q --durations=25 tests

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

dev: setup  ## open the Dagster UI on the demo lake
	ZTLAKE_LAKE=$(abspath $(DEMO_DIR))/lake ZTLAKE_LANDING=$(abspath $(DEMO_DIR))/landing \
	DAGSTER_HOME=$(abspath $(DEMO_DIR))/dagster_home $(BIN)/dagster dev -h 127.0.0.1

clean:
	rm -rf $(DEMO_DIR) .pytest_cache
