# NexusCore: `make run` serves the site with demo data, `make test` runs every check.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# The first Python >= 3.12 on PATH, or one that pyenv has installed.
define find_python
for name in python3.14 python3.13 python3.12 python3; do \
  path=$$(command -v $$name 2>/dev/null) || continue; \
  "$$path" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo "$$path"; exit 0; }; \
done; \
if command -v pyenv >/dev/null 2>&1; then \
  for version in $$(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])(\.|$$)' | sort -rV); do \
    path=$$(PYENV_VERSION=$$version pyenv which python3 2>/dev/null) && { echo "$$path"; exit 0; }; \
  done; \
fi; exit 1
endef

.PHONY: venv prepare run test bench lint format css chromium clean-data

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@python=$$($(find_python)) || { \
	  echo "NexusCore needs Python 3.12 or newer. Install it (for example 'pyenv install 3.12'"; \
	  echo "or your system's python3.12 package) and run make again."; exit 1; }; \
	[ -x $(PY) ] || { echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Migrate every schema, top up the pool of ready schemas and load the demo organisations.
prepare: venv
	$(PY) manage.py migrate_schemas --noinput -v 0
	$(PY) manage.py seed_demo

run: prepare
	@echo "Public site  http://localhost:$(PORT)/   Demo tenants  http://acme.localhost:$(PORT)/  http://globex.localhost:$(PORT)/"
	@trap 'kill 0' EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver 0.0.0.0:$(PORT)

test: venv chromium lint
	$(VENV)/bin/pytest

bench: venv
	$(PY) -m nexuscore.bench

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

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
