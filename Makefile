# Placement Ledger: `make run` starts the app with demo data, `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1:8000
WORKERS ?= 3000

.PHONY: run test install lint demo messages clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# A development key pair, generated once per checkout and never committed.
.env:
	@$(PYTHON) -c "import base64, os, secrets; \
	print('DJANGO_DEBUG=true'); \
	print('DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50)); \
	print('LEDGER_ID_ENCRYPTION_KEYS=' + base64.urlsafe_b64encode(os.urandom(32)).decode()); \
	print('LEDGER_ID_HMAC_KEY=' + secrets.token_urlsafe(48))" > $@
	@echo "wrote .env with fresh development keys"

demo: install .env
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --workers $(WORKERS) --if-empty --address http://$(HOST)/

# The job worker (imports, large exports) runs beside the web server and stops with it; it looks
# for a new job four times a second, so that an upload's progress shows within its first second.
run: demo
	$(PY) manage.py db_worker --queue-name '*' --no-reload --interval 0.25 & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST)

test: install
	$(VENV)/bin/pytest -n auto  # pytest-xdist: one worker per core, each with its own test database

lint: install .env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run

# The English catalogue (source strings are Chinese); needs GNU gettext. The .mo is committed.
messages: install .env
	$(PY) manage.py makemessages -l en --no-obsolete --no-location \
		--ignore=.venv --ignore=benchmarks --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles
