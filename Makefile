# Minga: `make demo` and `make test` set everything up on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite runs in parallel with pytest-xdist, one database per worker (tests/conftest.py);
# `auto` is one worker per CPU, TEST_WORKERS=0 runs it in a single process. `--dist load`, not
# loadfile/loadscope/loadgroup: those keep one test per node id, and schemathesis gives all its
# operations the same one.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist load

.PHONY: install demo serve test test-postgres lint format migrate clean pages-messages

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/minga demo

serve: install
	$(BIN)/minga db upgrade
	$(BIN)/minga serve

migrate: install
	$(BIN)/minga db upgrade

test: install
	$(PYTEST)

# The same suite on PostgreSQL: MINGA_TEST_DATABASE_URL=postgresql+asyncpg://... make test
# (each worker makes and drops <database>_gw0, <database>_gw1… next to that database)
test-postgres: install
	@test -n "$$MINGA_TEST_DATABASE_URL" || { echo "set MINGA_TEST_DATABASE_URL"; exit 1; }
	$(PYTEST)

lint: install
	$(BIN)/ruff check app tests migrations
	$(BIN)/ruff format --check app tests migrations
	$(BIN)/mypy app

format: install
	$(BIN)/ruff check --fix app tests migrations
	$(BIN)/ruff format app tests migrations

# The public pages' texts (gettext domain "pages"): extract into the .pot, merge into the
# es/en catalogues (then translate what is new), compile (the app also compiles at start).
pages-messages: install
	$(BIN)/pybabel extract -F app/locales/pages-babel.cfg -o app/locales/pages.pot \
		--project=minga --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -D pages -i app/locales/pages.pot -d app/locales --no-location --width=100
	$(BIN)/pybabel compile -D pages -d app/locales --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache minga-demo.db*
