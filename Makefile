# Two commands: `make run` (demo on SQLite at http://127.0.0.1:5000) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export FLASK_APP := wsgi
export NO_PROXY := 127.0.0.1,localhost
# Bytecode is cached (__pycache__, ignored by git) even where the shell says not to: every test
# process otherwise compiles the app and parses and rewrites every test module again (pytest's
# assertion rewriting), 10 s of CPU per process on this suite.
unexport PYTHONDONTWRITEBYTECODE
# `make run PORT=8000` serves elsewhere; links in mail follow (PUBLIC_URL).
PORT ?= 5000
DEMO_ENV = DEMO_PAYMENTS=1 MAIL_BACKEND=devbox PUBLIC_URL=$${PUBLIC_URL:-http://127.0.0.1:$(PORT)}
# PostgreSQL server the second test pass uses (each run creates and drops its own database).
PG_SERVER_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
# pytest-xdist workers per pass (each has its own database; 2 measured faster than 1 on both
# passes on a 2-core machine), and pytest-randomly's seed: both passes shuffle tests in one order,
# printed so that `make test SEED=<n>` repeats it.
WORKERS ?= 2
ifndef SEED
SEED := $(shell $(PYTHON) -c "import random; print(random.randrange(10**6))")
endif
export SEED
PYTEST = $(BIN)/pytest -q -n $(WORKERS) -p randomly --randomly-seed=$(SEED)

.PHONY: run test test-sqlite test-postgres install lint bench

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/activate
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(DEMO_ENV) $(BIN)/flask db upgrade
	$(DEMO_ENV) $(BIN)/flask seed-demo
	$(DEMO_ENV) $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

test: install
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ] || $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL not reachable on 127.0.0.1:5432 and TEST_DATABASE_URL unset: PostgreSQL pass not run."; \
	fi

test-sqlite: install
	@echo "== test suite on SQLite (with browser tests; postgres_only tests run in the PostgreSQL pass), seed $(SEED) =="
	env -u TEST_DATABASE_URL $(PYTEST) -m "not postgres_only"

test-postgres: install
	@echo "== test suite on PostgreSQL, seed $(SEED) =="
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(PG_SERVER_URL)} $(PYTEST) -m "not e2e"

lint: install
	$(BIN)/ruff check helpdesk tests bench
	$(BIN)/ruff format --check helpdesk tests bench

bench: install
	@command -v wrk >/dev/null || { echo "bench needs Debian's wrk: apt-get install -y wrk"; exit 1; }
	$(BIN)/python bench/queue_bench.py
	$(BIN)/python bench/request_floor.py
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/kb_bench.py
	$(BIN)/python bench/submit.py
