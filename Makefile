# NexusCore: `make run` serves the site with demo data, `make test` runs every check.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# A Python >= 3.12, preferring 3.12 (pgserver, the embedded PostgreSQL, ships wheels up to
# 3.12): first 3.12 on PATH or from pyenv, then any newer one.
define find_python
candidates() { \
  for name in python3.12 python3.13 python3.14 python3; do command -v $$name 2>/dev/null; done; \
  command -v pyenv >/dev/null 2>&1 && for version in $$(pyenv versions --bare 2>/dev/null | sort -V); do \
    PYENV_VERSION=$$version pyenv which python3 2>/dev/null; done; \
}; \
for test in 'sys.version_info[:2] == (3, 12)' 'sys.version_info >= (3, 12)'; do \
  for path in $$(candidates); do \
    "$$path" -c "import sys; sys.exit(not ($$test))" 2>/dev/null && { echo "$$path"; exit 0; }; \
  done; \
done; exit 1
endef

.PHONY: venv prepare run test test-quick bench lint format css chromium clean-data

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@python=$$($(find_python)) || { \
	  echo "NexusCore needs Python 3.12 or newer. Install it (for example 'pyenv install 3.12'"; \
	  echo "or your system's python3.12 package) and run make again."; exit 1; }; \
	[ -x $(PY) ] || { echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --retries 5 -r requirements-dev.txt
	@touch $@

# Migrate every schema that is behind (migrate_tenants also tops up the pool of ready schemas)
# and load the demo organisations.
prepare: venv
	$(PY) manage.py migrate_tenants
	$(PY) manage.py seed_demo

run: prepare
	@echo "Public site  http://localhost:$(PORT)/   Demo tenants  http://acme.localhost:$(PORT)/  http://globex.localhost:$(PORT)/"
	@trap 'kill -INT 0 2>/dev/null' EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver 0.0.0.0:$(PORT)

test: venv chromium lint
	$(VENV)/bin/pytest

# The edit loop: everything but the browser journeys and the fault injection (make test runs all).
test-quick: venv lint
	$(VENV)/bin/pytest -m "not browser and not faults"

bench: venv
	$(PY) -m bench

# ruff, and the layers (pyproject.toml's [tool.importlinter]): imports point one way.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Rebuild static/css/app.css and static/js/htmx.min.js (needs Node.js; the output is committed).
css:
	npm ci
	npm run build:css
	cp node_modules/htmx.org/dist/htmx.min.js static/js/htmx.min.js

# Browser tests drive Debian's Chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

clean-data:
	rm -rf .data
