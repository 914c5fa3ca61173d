# Two entry points (see README): `make demo` and `make test`. Both create .venv on first use and are
# fast when it is already up to date (the stamp file is rebuilt only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.wfm-installed

.PHONY: demo test lint chromium bench-erlang clean

# The install also compiles the line code (numba, ~30 s, cached), so no solve's time limit pays for it.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -c "from wfm.roster import linedp; linedp._warmed_up()"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/wfm demo

lint: $(STAMP)
	$(BIN)/ruff check .

# The report test renders report.html in Debian's headless Chromium; install it when missing (as root).
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not installed: the report rendering test will be skipped"; }

# The API tests run on SQLite and on PostgreSQL: scripts/test-postgres.sh installs and starts Debian's
# postgresql on loopback when it can (as root) and prints its URL; WFM_TEST_DATABASE_URL set by hand wins.
test: lint chromium
	WFM_TEST_DATABASE_URL="$${WFM_TEST_DATABASE_URL:-$$(./scripts/test-postgres.sh)}" $(BIN)/python -m pytest -q

bench-erlang: $(STAMP)
	$(BIN)/python benchmarks/erlang/run.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
