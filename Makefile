# Yizhan: two commands on a fresh machine.
#   make run   create .venv, install, migrate, load the demo district, serve on :8000
#   make test  install test extras (and Debian chromium when root), lint, check migrations, run pytest
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PYTEST_ARGS ?=
# pytest-xdist workers for make test (one per core; 0 runs in one process)
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test install install-test chromium lint bench messages vendor clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e ".[test]"
	touch $@

install: $(STAMP)
install-test: $(TEST_STAMP)

run: $(STAMP)
	$(BIN)/yizhan up

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "could not install chromium: browser tests will skip (or fail under CI)"; \
	  else echo "chromium missing and not root: browser tests will skip (or fail under CI)"; fi; \
	fi

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --no-logo  # the layer contracts in pyproject.toml [tool.importlinter]

test: $(TEST_STAMP) chromium lint
	$(BIN)/yizhan makemigrations --check --dry-run >/dev/null || \
	  (echo "models changed without a migration: run '$(BIN)/yizhan makemigrations'"; exit 1)
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=10 $(PYTEST_ARGS)

bench: $(TEST_STAMP)
	$(BIN)/python bench/nearby.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/demo_load.py
	$(BIN)/python bench/safety_import.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/gb26875.py

messages: $(TEST_STAMP)
	@command -v msgfmt >/dev/null || (apt-get update -qq && apt-get install -y -qq gettext >/dev/null)
	cd src/yizhan && ../../$(BIN)/yizhan makemessages -l en -l zh_Hans --no-obsolete --ignore 'tests/*'
	cd src/yizhan && ../../$(BIN)/yizhan makemessages -d djangojs -l en -l zh_Hans --no-obsolete --ignore 'vendor/*'
	$(BIN)/python scripts/translate_check.py || true
	cd src/yizhan && ../../$(BIN)/yizhan compilemessages

vendor:
	scripts/vendor_frontend.sh

clean:
	rm -rf $(VENV) var .pytest_cache
