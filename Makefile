# The README's two commands: `make run` (dashboard on the offline demo scene) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run class test lint bench
# The address students use, for the websocket's allowed origin (make class ORIGIN=host:5006).
ORIGIN ?= localhost:5006

setup: $(STAMP)

# Reinstall only when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $(STAMP)

run: setup
	$(BIN)/panel serve app/app.py --show

# A class on one server (README: "A class on one server"): hosted mode's caps, sessions culled
# 120 s after their tab closes (longer than a page takes to open under load), a health
# endpoint at /liveness.
class: setup
	$(BIN)/panel serve app/app.py --address 0.0.0.0 --port 5006 --allow-websocket-origin="$(ORIGIN)" \
		--liveness --check-unused-sessions 10000 --unused-session-lifetime 120000 \
		--session-token-expiration 300 --args --hosted

lint: setup
	$(BIN)/ruff check compositing app tests benchmarks notebooks
	$(BIN)/ruff format --check compositing app tests benchmarks notebooks

test: setup lint
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m benchmarks.bench_reducers
