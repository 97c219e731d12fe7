# The front door: `make` lists the targets. Everything runs inside the uv-managed .venv.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
# Recursive (=) on purpose: evaluated when a recipe runs, so it sees a uv that `install` has just added.
# `python -m uv` works even when pip put the uv script outside PATH (pip --user, pyenv without a rehash).
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
SOURCES := service actors db
DATA_DIR ?= .data
# Extra arguments, e.g. `make test PYTEST_ARGS="-k sse -x"`.
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help install run migrate test lint fmt bench clean

help: ## Show this list of targets
	@echo "Usage: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## Create or update .venv from uv.lock (installs uv with pip if missing)
	@if ! command -v uv >/dev/null 2>&1 && ! $(PYTHON) -m uv --version >/dev/null 2>&1; then \
		echo "uv not found: installing it with pip"; \
		$(PYTHON) -m pip install --quiet uv \
			|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv; \
	fi
	$(UV) sync
	@# The e2e tests inject axe-core (npm) into pages; Node is needed for that only.
	@# Only when the lock changed since the last install (lint and test run this target every time).
	@if [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then \
		if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/e2e --ignore-scripts --no-audit --no-fund --silent; \
		else echo "npm not found: the e2e accessibility checks need it (apt-get install npm)"; fi; \
	fi

run: install ## Run API + worker + scheduler (embedded Postgres/Redis unless DATABASE_URL/REDIS_URL are set)
	$(UV) run python -m service dev

migrate: install ## Apply database migrations to DATABASE_URL
	$(UV) run python -m service migrate

test: install ## Run the whole test suite (tests/unit, tests/integration, tests/e2e), not tests/bench
	$(UV) run pytest --ignore=tests/bench $(PYTEST_ARGS)

lint: install ## ruff check, ruff format --check, mypy --strict on service actors db
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy --strict $(addprefix -p ,$(SOURCES))

fmt: install ## Format the code and apply ruff's safe fixes
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: install ## Run the benchmarks (python -m tests.bench)
	$(UV) run python -m tests.bench $(BENCH_ARGS)

clean: ## Stop leftover embedded servers, delete .data (or DATA_DIR): dev database, Redis, artifacts
	@# Only with an existing .venv: cleaning must not install anything. A server outliving its deleted data
	@# directory would keep running unseen, hence the stop first.
	@if [ -x .venv/bin/python ] && [ -d "$(DATA_DIR)" ]; then \
		.venv/bin/python -c 'import sys; from pathlib import Path; from service.embedded import stop_leftovers; stop_leftovers(Path(sys.argv[1]))' "$(DATA_DIR)"; \
	fi
	rm -rf "$(DATA_DIR)"
