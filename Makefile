# TweetUp: `make run` serves the site, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6.1 needs Python 3.12 or newer: take the first that answers.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.14 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT

.PHONY: help run test lint check python venv install install-dev messages browser lock acceptance bench

help:
	@echo "make run   - set up and serve the site at http://127.0.0.1:$(PORT) with a Celery worker and beat"
	@echo "make test  - set up and run every test"
	@echo "make lint  - ruff check and format check, and the import contracts between the apps"
	@echo "make acceptance - the acceptance suite alone, on the production stack (README)"
	@echo "make bench - the benchmarks, the site against a baseline Django project (SIZE=full: 1,000,000 rows)"

python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "TweetUp needs Python 3.12 or newer (python3.13 or python3.12 on the PATH); none was found." >&2; \
		echo "Install one (e.g. apt-get install python3.12, or pyenv install 3.13) and run make again." >&2; \
		exit 1; fi

$(BIN)/python: | python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files, every package pinned with its hashes:
# requirements.lock for the site alone (make run, production), and
# requirements-dev.lock for the tests on top of it, constrained by the runtime
# lock so both pin the site's packages alike. `make lock` writes both from
# requirements.txt and requirements-dev.txt. The acceptance suite builds a
# virtual environment of its own from requirements.lock alone, so a package
# that only the test tools bring cannot hide a missing runtime one.
$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	touch $@ $(VENV)/.installed

lock: install-dev
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements.lock requirements.txt
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o requirements-dev.lock requirements-dev.txt

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The catalogues compile into the build folder (TWEETUP_BUILD_DIR, var/build
# here), where the site reads them, never into the source tree.
messages: $(VENV)/.installed
	DJANGO_SETTINGS_MODULE=tweetup.settings.local $(BIN)/python manage.py compilecatalogue

run: install messages
	DJANGO_SETTINGS_MODULE=tweetup.settings.local $(BIN)/python manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=tweetup.settings.local $(BIN)/python manage.py loaddemo
	$(BIN)/python -m tweetup.run

# Debian's Chromium for the browser tests, gettext for the catalogue test,
# pgbouncer for the test of the draw behind PgBouncer in transaction mode, and
# what production runs the site behind (README, "Production") for the
# acceptance suite: nginx, supervisor and openssl (its test certificate);
# installed when missing and possible.
SYSTEM_PACKAGES := chromium:chromium xgettext:gettext nginx:nginx-light supervisord:supervisor \
	openssl:openssl pgbouncer:pgbouncer
browser:
	@export PATH="$$PATH:/usr/sbin:/sbin"; missing=""; for pair in $(SYSTEM_PACKAGES); do \
		command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's$$missing for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "Missing$$missing: the tests that need them are skipped (they fail under CI=true)"; fi; fi

# The acceptance suite alone (make test runs it too): the site on its
# production stack, driven by Chromium, HTTP clients and an SMTP server.
acceptance: install-dev browser
	$(BIN)/python -m pytest -m acceptance tests/acceptance

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: install-dev messages
	DJANGO_SETTINGS_MODULE=tweetup.settings.test $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=tweetup.settings.test $(BIN)/python manage.py makemigrations --check --dry-run
	@# Each migration since the linter's baseline (pyproject.toml) must leave the
	@# previous release working on the migrated database. It reads PostgreSQL's SQL.
	@if $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		DJANGO_SETTINGS_MODULE=tests.lint_settings DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
			$(BIN)/python manage.py lintmigrations --quiet ok ignore; \
	else echo "No PostgreSQL at 127.0.0.1:5432: the migration linter is skipped (the tests run it under CI)"; fi
	DJANGO_SETTINGS_MODULE=tweetup.settings.production SECRET_KEY=check-deploy-$$(date +%s)-0123456789abcdefghijklmnopqrstuvwxyz \
		ALLOWED_HOSTS=tweetup.example.org EMAIL_HOST=smtp.example.org DATABASE_URL=sqlite://:memory: \
		PRIVACY_CONTROLLER_NAME="A lab" PRIVACY_CONTROLLER_ADDRESS="A street" PRIVACY_CONTACT_EMAIL=dpo@lab.example \
		IMPRINT_PUBLISHER="A lab" IMPRINT_ADDRESS="A street" IMPRINT_EMAIL=press@lab.example IMPRINT_RESPONSIBLE="A person" \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

# The rules the database helps to hold (stops that must not overlap, one entry
# per person) run a second time on SQLite, the embedded default of `make run`.
SQLITE_TESTS := tests/visits/test_admin.py tests/visits/test_services.py tests/visitors/test_services.py \
	tests/privacy/test_purge.py tests/contests/test_entry_services.py

# The suite runs on TEST_WORKERS processes (pytest-xdist), each on a test
# database of its own (test_tweetup_gw0, ...), an idle one taking tests queued
# for the other (a few tests run for 10 s); the acceptance suite then runs
# alone, one production stack at a time, before the SQLite rerun.
TEST_WORKERS ?= 2

test: install-dev browser lint check
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not acceptance"
	$(BIN)/python -m pytest -m acceptance tests/acceptance
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 $(BIN)/python -m pytest -q \
		-m "not browser and not integration" $(SQLITE_TESTS)

# The benchmarks (BENCHMARKS.md): the site's entries and pages against a
# baseline Django project on the same gunicorn, middleware, PostgreSQL and
# Redis, then bench/'s other benchmarks; under 10 minutes at SIZE=small, the
# other benchmarks at 1,000,000 rows with SIZE=full. Needs PostgreSQL and
# Redis on 127.0.0.1.
SIZE ?= small
bench: install-dev messages
	$(BIN)/python bench/run.py --size $(SIZE)
