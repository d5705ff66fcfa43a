# Touchstone — developer and CI entry points.
#
#   make run    install, migrate, seed the demo, serve web + Celery worker + beat (Ctrl-C stops all)
#   make test   ruff, then the whole suite on PostgreSQL + Redis (pytest -n 2)
#
# Override the interpreter with PYTHON=/path/to/python3.12 (Django 6 needs Python >= 3.12).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
VAR_DIR ?= $(or $(TOUCHSTONE_VAR_DIR),var)

# The venv is (re)installed only when a requirements file changes: the stamp carries their hash.
REQ_FILES := requirements.txt requirements-dev.txt
REQ_HASH := $(shell cat $(REQ_FILES) | sha256sum | cut -c1-16)
VENV_STAMP := $(VENV)/.installed-$(REQ_HASH)

# Front-end libraries are optional: only when someone adds a package.json.
NPM_FILES := $(wildcard package.json package-lock.json)
NPM_HASH := $(if $(NPM_FILES),$(shell cat $(NPM_FILES) | sha256sum | cut -c1-16))
NPM_STAMP := $(if $(NPM_FILES),node_modules/.installed-$(NPM_HASH))

# The test suite runs on PostgreSQL and Redis unless the caller points it elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/touchstone
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: help venv install run migrate test chaos lint fmt clean bench

help:
	@echo "make install  create $(VENV) (Python >= 3.12) and install requirements-dev.txt"
	@echo "make run      migrate, seed_demo, collectstatic, then web + worker + beat on 127.0.0.1:$(PORT) (PORT=...)"
	@echo "make test     ruff check + format check, then pytest -n $(PYTEST_WORKERS) on PostgreSQL + Redis"
	@echo "make chaos    fault tests (kill -9 workers, stop Redis, restart PostgreSQL) on a private stack"
	@echo "make lint     ruff check + ruff format --check"
	@echo "make fmt      ruff check --fix + ruff format"
	@echo "make migrate  apply migrations to DATABASE_URL (default: SQLite under $(VAR_DIR)/)"
	@echo "make bench    measure against raw baselines (SCALE=small: under 2 min); see docs/performance.md"
	@echo "make clean    remove caches and collected static files (keeps $(VAR_DIR)/ data and $(VENV))"

venv install: $(VENV_STAMP) $(NPM_STAMP)

# No file prerequisites: the hash in the stamp's name already says whether it is current.
$(VENV_STAMP):
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null; then \
		python="$$(scripts/find_python.sh)"; \
		echo "creating $(VENV) with $$python"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

ifneq ($(NPM_FILES),)
$(NPM_STAMP):
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
	else npm install --no-audit --no-fund; fi
	rm -f node_modules/.installed-*
	touch $@
endif

$(VAR_DIR):
	mkdir -p $@

migrate: install | $(VAR_DIR)
	$(PY) manage.py migrate --noinput

# Where `make run` serves: PORT=8001 make run (or RUN_ADDRESS=host:port); e-mailed links follow.
PORT ?= 8000
RUN_ADDRESS ?= 127.0.0.1:$(PORT)

run: migrate
	SITE_URL="$${SITE_URL:-http://$(RUN_ADDRESS)}" $(PY) manage.py seed_demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	VENV=$(VENV) VAR_DIR=$(VAR_DIR) RUN_ADDRESS=$(RUN_ADDRESS) scripts/run_all.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Environment that wins over the defaults, so `DATABASE_URL=... make test` still works.
test: install lint
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Not part of `make test`: it creates and drops its own PostgreSQL database (BENCH_DATABASE_URL,
# default touchstone_bench), prints the table and writes $(VAR_DIR)/bench/results.json.
SCALE ?= default
bench: install
	$(PY) -m bench.run --scale $(SCALE)

# Fault injection on a private PostgreSQL (initdb, port 25432) and Redis (port 26379) that the tests
# start, kill and restart themselves; the shared services are never touched. Serial, < 10 minutes.
CHAOS_PG_PORT ?= 25432
CHAOS_REDIS_PORT ?= 26379
chaos: install
	CHAOS=1 CHAOS_PG_PORT=$(CHAOS_PG_PORT) CHAOS_REDIS_PORT=$(CHAOS_REDIS_PORT) \
	DATABASE_URL=postgres://postgres@127.0.0.1:$(CHAOS_PG_PORT)/touchstone \
	CELERY_BROKER_URL=redis://127.0.0.1:$(CHAOS_REDIS_PORT)/0 \
	$(BIN)/pytest tests/chaos -m chaos -p no:cacheprovider -v -s $(PYTEST_ARGS)

# Caches and build output only: the database, broker queue, media and signing key are data.
clean:
	rm -rf .pytest_cache .ruff_cache $(VAR_DIR)/static
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o \
		-name __pycache__ -type d -exec rm -rf {} +
