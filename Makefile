# The front door: `make` lists the targets. Everything runs inside the uv-managed .venv.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
# Recursive (=) on purpose: evaluated when a recipe runs, so it sees a uv that `install` has just added.
# `python -m uv` works even when pip put the uv script outside PATH (pip --user, pyenv without a rehash).
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
# Another supported Python: `UV_PYTHON=3.13 make test` uses it in its own .venv-3.13, leaving .venv alone.
# uv cannot use pyenv's shims for a version other than the selected one, so a version pyenv has is handed
# to uv as that interpreter's path.
ifdef UV_PYTHON
ifndef UV_PROJECT_ENVIRONMENT
export UV_PROJECT_ENVIRONMENT := .venv-$(notdir $(UV_PYTHON))
endif
override UV_PYTHON := $(or $(shell v=$$(pyenv latest "$(UV_PYTHON)" 2>/dev/null) \
	&& echo "$$(pyenv root)/versions/$$v/bin/python"),$(UV_PYTHON))
export UV_PYTHON
endif
VENV := $(or $(UV_PROJECT_ENVIRONMENT),.venv)
# Targets run the venv's programs themselves, not through `uv run`: uv passes the terminal's Ctrl-C on to
# its child, which then gets it twice, and `service dev` takes a second Ctrl-C as "kill everything now".
BIN := $(VENV)/bin
# Versions `make test-pythons` runs the unit and integration tests on (the default one runs everything).
PYTHONS ?= 3.12 3.13
# System programs as CHECK:DEBIAN-PACKAGE, installed or asked for by scripts/system-packages before the
# target runs. node and npm: the build kind's steps; bwrap: its sandbox; chromium: the browser tests.
RUN_PACKAGES := node:nodejs npm:npm
TEST_PACKAGES := $(RUN_PACKAGES) bwrap:bubblewrap $(or $(CHROMIUM_PATH),/usr/bin/chromium):chromium
# nginx serves the llms_crawl benchmark's site (the Python test server would be the benchmark's bottleneck).
BENCH_PACKAGES := $(RUN_PACKAGES) nginx:nginx
SOURCES := service actors db
DATA_DIR ?= .data
# Extra arguments, e.g. `make test PYTEST_ARGS="-k sse -x"`.
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help install run-packages test-packages run migrate test test-pythons lint fmt bench clean

help: ## Show this list of targets
	@echo "Usage: make <target>"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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

run-packages:
	@scripts/system-packages $(RUN_PACKAGES)

test-packages:
	@scripts/system-packages $(TEST_PACKAGES)
	@# The build tests install their fixture projects with --offline from npm's cache: fill it when needed.
	@scripts/npm-test-cache

run: run-packages install ## Run API + worker + scheduler (embedded Postgres/Redis unless DATABASE_URL/REDIS_URL are set)
	$(BIN)/python -m service dev

migrate: install ## Apply database migrations to DATABASE_URL
	$(BIN)/python -m service migrate

test: test-packages install ## Run the whole test suite (tests/unit, tests/integration, tests/e2e), not tests/bench
	$(BIN)/pytest --ignore=tests/bench $(PYTEST_ARGS)

test-pythons: ## Unit and integration tests on each of PYTHONS (default: 3.12 3.13), each in its .venv-X.Y
	@for version in $(PYTHONS); do \
		echo "==> Python $$version"; \
		env -u UV_PROJECT_ENVIRONMENT UV_PYTHON=$$version $(MAKE) test PYTEST_ARGS="tests/unit tests/integration $(PYTEST_ARGS)" || exit 1; \
	done

lint: install ## ruff check, ruff format --check, mypy --strict on service actors db
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict $(addprefix -p ,$(SOURCES))

fmt: install ## Format the code and apply ruff's safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## Run the benchmarks (python -m tests.bench)
	@scripts/system-packages $(BENCH_PACKAGES)
	@scripts/npm-test-cache
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

clean: ## Stop leftover embedded servers, delete .data (or DATA_DIR): dev database, Redis, artifacts
	@# Only with an existing .venv: cleaning must not install anything. A server outliving its deleted data
	@# directory would keep running unseen, hence the stop first.
	@if [ -x $(BIN)/python ] && [ -d "$(DATA_DIR)" ]; then \
		$(BIN)/python -c 'import sys; from pathlib import Path; from service.embedded import stop_leftovers; stop_leftovers(Path(sys.argv[1]))' "$(DATA_DIR)"; \
	fi
	rm -rf "$(DATA_DIR)"
