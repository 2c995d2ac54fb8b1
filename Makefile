# Everyday commands. `make run` and `make test` are all a new user needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
PORT ?= 8000
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: install system-deps test-deps run test lint format bench

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is needed (see .python-version)"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

install: $(VENV)/.installed system-deps

system-deps:
	@scripts/install-system-deps

test-deps:
	@scripts/install-system-deps --test

# The admin's password goes to var/admin-password.txt (only on the first run) and is printed
# last, once the web server answers, so the worker's log does not scroll it away.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py createadmin --password-file var/admin-password.txt
	@trap 'kill $$worker $$web 2>/dev/null; wait $$worker $$web 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py runworker --concurrency 4 & worker=$$!; \
	  DEBUG=true $(PY) manage.py runserver --noreload 127.0.0.1:$(PORT) & web=$$!; \
	  $(PY) scripts/wait-for-port 127.0.0.1 $(PORT) 60 && \
	  $(PY) manage.py createadmin --show-login --password-file var/admin-password.txt \
	    --url http://127.0.0.1:$(PORT)/admin/; \
	  wait $$web

test: install test-deps
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install test-deps
	$(PY) -m bench
