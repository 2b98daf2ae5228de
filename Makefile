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
# The port `make demo` and `make serve` listen on (127.0.0.1): `make demo PORT=8080`.
PORT ?= 8000

.PHONY: install demo serve test test-postgres lint format migrate clean messages compile-messages pages-messages mail-messages

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "needs $(PYTHON) (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@$(MAKE) --no-print-directory compile-messages VENV=$(VENV)
	@touch $(STAMP)

# Translations (docs/languages.md). `make messages` extracts the `messages` domain from app/
# into its template and merges it into every language's catalogue; translate the new entries
# in app/locales/<lang>/LC_MESSAGES/messages.po. `make compile-messages` compiles every domain's
# catalogues to .mo (git-ignored; the app compiles a missing or stale one in memory).
LOCALES := app/locales
BABEL := $(BIN)/python -m babel.messages.frontend

messages: install
	$(BABEL) extract -F babel.cfg --add-location=file --sort-output --no-wrap --project=Minga \
		--copyright-holder="Minga" -o $(LOCALES)/messages.pot app
	$(BABEL) update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --no-wrap \
		--ignore-obsolete --no-fuzzy-matching

compile-messages:
	@for po in $(LOCALES)/*/LC_MESSAGES/*.po; do \
		$(BABEL) compile --statistics -i "$$po" -o "$${po%.po}.mo" || exit 1; \
	done

demo: install
	$(BIN)/minga demo --port $(PORT)

serve: install
	$(BIN)/minga db upgrade
	$(BIN)/minga serve --port $(PORT)

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

# The e-mails' texts (app/notifications/templates): the gettext domain `mail`.
mail-messages: install
	$(BIN)/pybabel extract -F app/locales/mail-babel.cfg -o app/locales/mail.pot \
		--project=minga --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -D mail -i app/locales/mail.pot -d app/locales --no-location --width=100
	$(BIN)/pybabel compile -D mail -d app/locales --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache minga-demo.db*
	rm -f $(LOCALES)/*/LC_MESSAGES/*.mo
