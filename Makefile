# Sanad: every task in one place. `make run` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock
# `make bench` runs benchmarks/bench_<name>.py for each name, in this order.
BENCHMARKS := translation relay safeguarding pacing delivery inbound kill scale reminders stats privacy memory

.PHONY: help install lock run demo test test-fast lint format typecheck i18n-extract i18n-update \
        i18n-compile i18n-check db-upgrade bench fixture-models clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	# Every package from the lock, each file checked against its sha256 (pip and setuptools
	# too; torch is the CPU build in /opt/wheels). pip's configured constraint file (torch cap,
	# no hashes) still applies: --require-hashes wants hashes on requirements, not constraints.
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	# The project alone, built by the locked setuptools: everything it needs is installed above.
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the bot, translation and test dependencies

lock:  ## regenerate requirements.lock from pyproject.toml (UPGRADE=1: newest releases)
	$(PYTHON) tools/lock.py $(if $(UPGRADE),--upgrade)

run: $(STAMP)  ## run the bot (no BOT_TOKEN: the offline demo)
	$(PY) -m bot

demo: $(STAMP)  ## the offline demo, whatever the environment says
	$(PY) -m bot demo

test: $(STAMP)  ## lint, catalog check and the whole test suite
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy bot handlers storage
	$(PY) tools/i18n.py check
	$(PY) -m pytest -q -n 2

test-fast: $(STAMP)  ## the tests without the slow end-to-end and real-library translation ones
	$(PY) -m pytest -q -m "not e2e and not translation"

lint: $(STAMP)  ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)  ## mypy over bot, handlers and storage
	$(PY) -m mypy bot handlers storage

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

i18n-extract: $(STAMP)  ## collect strings into locales/messages.pot
	$(PY) tools/i18n.py extract

i18n-update: $(STAMP)  ## merge the template into the ar/en catalogs (no fuzzy matching)
	$(PY) tools/i18n.py update

i18n-compile: $(STAMP)  ## build .mo files with statistics (the bot also compiles at start-up)
	$(PY) tools/i18n.py compile

i18n-check: $(STAMP)  ## fail when catalogs are out of date or incomplete
	$(PY) tools/i18n.py check

db-upgrade: $(STAMP)  ## apply migrations to DATABASE_URL (default data/sanad.db)
	$(PY) -c "from bot.settings import Settings; from storage.db import Database; Database(Settings.from_env().database_url).upgrade()"

bench: $(STAMP)  ## the benchmarks (figures printed and saved under benchmarks/results/)
	set -e; for name in $(BENCHMARKS); do $(PY) -m benchmarks.bench_$$name; done

fixture-models: $(STAMP)  ## rebuild the random-weight test packages in tests/fixtures/models
	$(PY) tools/build_fixture_models.py

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) data .pytest_cache .ruff_cache
