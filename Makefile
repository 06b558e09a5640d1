# The README's two set-up commands are `make lab` and `make test`.
# Each makes .venv with the machine's python3 and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEV    := $(VENV)/.installed-dev

.PHONY: lab demo test compiled pure lint typecheck docs conformance-table datasets \
	bench bench-full bench-record fuzz soak clean

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

# The whole suite against the pure-Python kernel, then the kernel's suites (conformance,
# adversarial, invariants, history and checkpoints among them) against the same source
# compiled by mypyc, built in place for the run and removed after it (about two minutes
# more; docs/decisions/0017-compiled-kernel.md).
test: lint typecheck
	KEYKOS_LAB_PURE=1 $(BIN)/python -m pytest
	$(BIN)/python hatch_build.py
	$(BIN)/python -c "import keykos_lab as kl; assert kl.compiled, kl.kernel.native.STATUS"
	$(BIN)/python -m pytest -o addopts="-q" tests/kernel tests/conformance tests/adversarial \
	    tests/test_invariants.py tests/test_history.py tests/test_checkpoint.py; \
	    status=$$?; $(BIN)/python hatch_build.py --clean; exit $$status

# `make compiled` builds the compiled kernel in place (about a minute and a half; an install
# does it with KEYKOS_LAB_COMPILE=1), `make pure` removes it.
compiled: $(DEV)
	$(BIN)/python hatch_build.py

pure:
	$(BIN)/python hatch_build.py --clean

# ruff (rules in pyproject.toml, the kernel's magic-number rule included), the formatter's
# check, and notebooks committed without outputs.
lint: $(DEV)
	$(BIN)/ruff check keykos_lab tests bench notebooks docs/conf.py hatch_build.py conftest.py
	$(BIN)/ruff format --check keykos_lab tests bench docs/conf.py hatch_build.py conftest.py
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

# The benchmarks, each against its peers in the same process (bench/peers.py), in about ten
# minutes: the quick sizes, the scale curves to 10,000 domains. The peers come with the bench
# extra (rustworkx, igraph, SimPy; a missing one gives a "not installed" row). bench-full runs
# the full sizes (scale curves to 100,000 domains; about an hour); bench-record the scale
# record (a 10-million-key system, a 10,000-system Dask sweep; tens of minutes, several GiB).
BENCH := $(VENV)/.installed-bench
$(BENCH): pyproject.toml | $(DEV)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH)

bench: $(BENCH)
	$(BIN)/python bench/kernel.py --quick
	$(BIN)/python bench/graph.py --quick
	$(BIN)/python bench/eventlog.py --quick
	$(BIN)/python bench/checkpoint.py
	$(BIN)/python bench/scale.py --quick
	cat bench/results-kernel.md bench/results-graph.md bench/results-eventlog.md \
	    bench/results-checkpoint.md bench/results-scale-quick.md > bench/results.md

bench-full: $(BENCH)
	$(BIN)/python bench/kernel.py
	$(BIN)/python bench/graph.py
	$(BIN)/python bench/eventlog.py
	$(BIN)/python bench/checkpoint.py
	$(BIN)/python bench/notebooks.py
	$(BIN)/python bench/scale.py
	cat bench/results-kernel.md bench/results-graph.md bench/results-eventlog.md \
	    bench/results-checkpoint.md bench/results-notebooks.md bench/results-scale.md \
	    > bench/results.md

bench-record: $(BENCH)
	$(BIN)/python bench/record.py

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
