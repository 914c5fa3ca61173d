# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use and are
# fast when it is already up to date (the stamp file is rebuilt only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.wfm-installed

.PHONY: demo test lint bench-erlang clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/wfm demo

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

bench-erlang: $(STAMP)
	$(BIN)/python benchmarks/erlang/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
