# The README's two commands: `make run` and `make test`.  Everything else is a step of those.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.wirewatch-installed

.PHONY: setup run test lint typecheck tools lock schemas bench clean

$(STAMP): requirements-dev.lock pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: Python 3.11 not found (set PYTHON=...)"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
	@echo "installing pinned dependencies from requirements-dev.lock (hash-checked)..."
	@$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
	@$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

setup: $(STAMP)

## make run: set up, then run wirewatch on the embedded broker with the demo feeds (Ctrl-C stops)
run: setup
	$(BIN)/wirewatch run

## make test: set up (venv + Debian tools), then lint, type-check and run the test suite
test: setup tools
	$(BIN)/ruff check services tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

tools:
	@bash deploy/ensure-tools.sh

lint: setup
	$(BIN)/ruff check services tests benchmarks

typecheck: setup
	$(BIN)/mypy

## make lock: re-pin every dependency (with hashes) after editing pyproject.toml
## (requirements.lock: what the image runs; requirements-dev.lock: that plus the test tools)
lock:
	uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements.lock
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu -o requirements-dev.lock

schemas: setup
	$(BIN)/wirewatch schemas --out schemas

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
