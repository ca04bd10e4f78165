# Two commands on a fresh machine with Python 3.11+ and make: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMULATOR_PORT ?= 8001
STAMP := $(VENV)/.installed
# The demo keeps its own database: its users have public passwords (admin is a superuser) and
# its archive holds the emulator's made-up history; neither belongs in the db.sqlite3 that
# `make serve` uses.
DEMO_DB ?= demo.sqlite3

.PHONY: demo test setup lint serve bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %d.%d)." % sys.version_info[:2] if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

setup: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput

demo: $(STAMP)
	DJANGO_DEBUG=1 DJANGO_SQLITE_PATH=$(DEMO_DB) $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 DASHBOARD_EMULATOR=1 DJANGO_SQLITE_PATH=$(DEMO_DB) $(BIN)/python manage.py demo \
		--port $(PORT) --emulator-port $(EMULATOR_PORT)

test: setup
	bash .ci/system-packages
	$(BIN)/python -m pytest

# The production configuration on this machine: hashed, compressed static files and gunicorn
# (SERVER=granian: granian, dashboard/granian_server.py).
serve: $(STAMP)
	@test -n "$$DJANGO_SECRET_KEY$$DJANGO_SECRET_KEY_FILE" || { echo "Set DJANGO_SECRET_KEY (a long random string) first: make serve runs the production settings, which refuse to start without it. See README.md, Running in production."; exit 2; }
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py migrate --noinput
	$(if $(filter granian,$(SERVER)),$(BIN)/python -m dashboard.granian_server,$(BIN)/gunicorn -c gunicorn.conf.py dashboard.wsgi)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/polling.py

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 $(DEMO_DB) .pytest_cache .ruff_cache
