# The two set-up commands of the README: `make lab` and `make test`.
# Each makes .venv with the machine's python3 and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: lab demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' jupyterlab
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. $(if $(wildcard notebooks),notebooks,)

demo: $(STAMP)
	$(BIN)/python -m keykos_lab.demo

test: $(STAMP)
	$(BIN)/ruff check keykos_lab tests bench
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check keykos_lab tests bench

bench: $(STAMP)
	$(BIN)/python bench/kernel.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
