# The README's two commands: `make run` (dashboard on the offline demo scene) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench

setup: $(STAMP)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $(STAMP)

run: setup
	$(BIN)/panel serve app/app.py --show

lint: setup
	$(BIN)/ruff check compositing app tests benchmarks notebooks
	$(BIN)/ruff format --check compositing app tests benchmarks notebooks

test: setup lint
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m benchmarks.bench_reducers
