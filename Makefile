# Periop: `make run` serves the application on SQLite with a demo department;
# `make test` runs the linters, the type checker and the whole test suite.
# Set DATABASE_URL=postgres://... to use PostgreSQL instead of SQLite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core; 0 runs the tests in this process.
PYTEST_WORKERS ?= auto

.PHONY: run test lint typecheck pytest install install-dev migrate bench load-test mutants clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Periop needs Python 3.11 or newer.")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs exactly the locked, hash-checked versions (the ones CI tested).
$(VENV)/.runtime-installed: requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev-installed: requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(VENV)/.runtime-installed $@

install: $(VENV)/.runtime-installed
install-dev: $(VENV)/.dev-installed

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: migrate
	$(BIN)/python manage.py demo_setup
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy periop

# pytest exits 5 when it collected no test: that is a failure, not a pass. No test may depend
# on another having run before it in the same process.
pytest: install-dev
	@status=0; $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests." >&2; exit 1; fi; \
	exit $$status

test: lint typecheck pytest

bench: install-dev
	$(BIN)/python bench/engine_bench.py

# Mutation testing, outside `make test`: the engine against the unit tests (hours for all of it
# on two cores), then the audit ledger against its tampering and ledger tests (minutes).
# MUTANTS_ARGS narrows the engine run, for example
# MUTANTS_ARGS="--module periop/drugs/engine/dose.py" or MUTANTS_ARGS="--sample 100".
MUTANTS_ARGS ?=
mutants: install-dev
	$(BIN)/python bench/mutants.py --target engine $(MUTANTS_ARGS)
	$(BIN)/python bench/mutants.py --target ledger

# The load test: locust headless for 60 s against gunicorn on 127.0.0.1, on a scratch
# PostgreSQL database (70 % checks, 20 % assessment pages, 10 % report pages).
# LOAD_TEST_ARGS="--users 32 --seconds 60" to change it.
LOAD_TEST_ARGS ?=
load-test: install-dev
	$(BIN)/python bench/load_test.py $(LOAD_TEST_ARGS)

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache mutants
