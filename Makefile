# CareSync: `make run` serves the product with demo data; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
UV_VERSION := 0.13.9

# PostgreSQL + Redis tier (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/caresync
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

.PHONY: run test test-pg e2e lint format bench install install-dev assets lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.base-installed: requirements/base.lock | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements/base.lock
	@touch $@

$(VENV)/.dev-installed: requirements/dev.lock | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements/dev.lock
	@touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed
install-dev: $(VENV)/.dev-installed

node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

caresync/web/static/vendor/.built: node_modules/.installed scripts/vendor-assets.mjs
	npm run --silent build
	@touch $@

assets: caresync/web/static/vendor/.built

run: install assets
	@mkdir -p var
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "CareSync is starting on http://127.0.0.1:$(PORT)  (web + worker + beat; Ctrl-C stops all)"
	$(BIN)/honcho start --procfile Procfile.dev --port $(PORT)

test: install-dev
	@mkdir -p var
	$(BIN)/python -m pytest -m "not e2e"

test-pg: install-dev
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/python -m pytest -m "not e2e"

e2e: install-dev assets
	@test -x /usr/bin/chromium || { echo "Installing Debian chromium for the e2e tier..."; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation) \
	  || { echo "Could not install chromium (needs root and Debian's packages)"; exit 1; }; }
	$(BIN)/python -m pytest -m e2e tests/e2e

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run --verbosity 0

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install-dev
	$(BIN)/python bench/run_all.py

lock: | $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 -o requirements/base.lock -q
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements/dev.lock -q

clean:
	rm -rf $(VENV) node_modules staticfiles caresync/web/static/vendor var
