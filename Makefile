# The README's two set-up commands are `make lab` and `make test`.
# Each makes .venv with the machine's python3 and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev

.PHONY: lab demo test lint typecheck docs conformance-table datasets bench fuzz soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV)

ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(DEV)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(if $(wildcard notebooks/00_start_here.ipynb),notebooks/00_start_here.ipynb,)

demo: $(DEV)
	$(BIN)/python -m keykos_lab.demo

test: lint typecheck
	$(BIN)/python -m pytest

# ruff (rules in pyproject.toml, the kernel's magic-number rule included), the formatter's
# check, and notebooks committed without outputs.
lint: $(DEV)
	$(BIN)/ruff check keykos_lab tests bench notebooks docs/conf.py
	$(BIN)/ruff format --check keykos_lab tests bench docs/conf.py
	$(BIN)/nbstripout --keep-id --verify notebooks/*.ipynb

# mypy on the typed layers (files and settings in pyproject.toml).
typecheck: $(DEV)
	$(BIN)/mypy

# The docs site with every notebook executed, warnings as errors; docs/_build/html/index.html.
# (The test suite builds it without executing the notebooks: tests/house/test_docs.py.)
docs: $(DEV)
	KEYKOS_LAB_DOCS_EXECUTE=1 $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# docs/conformance.md, the C release's orders against tests/conformance/ (a house test checks
# that it is up to date); --check-mirror also checks the order list against a local C mirror.
conformance-table: $(DEV)
	$(BIN)/python -m tests.conformance.table

# datasets/: the recorded runs, the graphs derived from the upstream specifications (found or
# fetched by keykos_lab.datasets.external), their cards and records (docs/datasets.md); a test
# checks that the committed files are what this makes.
datasets: $(DEV)
	$(BIN)/python datasets/_build.py

bench: $(DEV)
	$(BIN)/python bench/kernel.py
	$(BIN)/python bench/graph.py
	$(BIN)/python bench/eventlog.py
	$(BIN)/python bench/checkpoint.py
	$(BIN)/python bench/notebooks.py
	cat bench/results-kernel.md bench/results-graph.md bench/results-eventlog.md \
	    bench/results-checkpoint.md bench/results-notebooks.md > bench/results.md

# Longer runs than make test: the kernel state machine, the reader/restore fuzzers and the
# referee's differential tests (explored ⊆ predicted, declared behaviour included) with
# KEYKOS_LAB_FUZZ_SCALE times the examples (default 50), and the 100,000-domain soak.
fuzz: $(DEV)
	KEYKOS_LAB_FUZZ=1 $(BIN)/python -m pytest -q -o addopts="--doctest-modules" tests/fuzz \
	    tests/analysis/test_referee_differential.py

soak: $(DEV)
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis docs/_build docs/notebooks
