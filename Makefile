# Shop backend: five Flask services behind one gateway. `make` lists the targets.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
SYSTEM_PYTHON ?= python3
# The gateway `make newman` and `make fuzz` talk to (a running stack, e.g. make run-all's).
BASE_URL ?= http://127.0.0.1:3000
FUZZ_EXAMPLES ?= 300
# make server-latest-test's second virtualenv, and the server layer's tests it runs (shop_common/gunicorn_worker.py, thread_worker.py, worker_common.py).
LATEST_VENV ?= .venv-latest
SERVER_TESTS := tests/unit/test_server_extension_points.py tests/unit/test_http_framing.py \
	tests/service/shop_common/test_gunicorn_worker.py tests/service/shop_common/test_server_layer.py \
	tests/e2e/test_http_framing.py tests/e2e/test_http_edge.py
# Where `make monitor`'s Prometheus listens (127.0.0.1).
MONITOR_PORT ?= 9090
# A setting as the services read it: the environment first, then the .env files.
setting = $(shell $(PYTHON) -c 'from shop_common.settings import load_settings; print(load_settings("user")["$(1)"])')

.DEFAULT_GOAL := help
.PHONY: help install env db-init schema schema-check admin run-all stop-all status logs reconcile forget test unit-tests service-tests e2e-tests server-latest-test browser-tests lint newman fuzz bench bench-observability monitor monitor-stop clean
.PHONY: image container-test deploy-check replicas-test
# The image make container-test builds and runs: one tag per checkout, so parallel checkouts never clash.
TEST_IMAGE ?= localhost/shop-test-$(shell printf %s "$(CURDIR)" | md5sum | cut -c1-10):latest
PODMAN_ENV := CONTAINERS_CONF=$(CURDIR)/deploy/podman/containers.conf

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(VENV)/.installed ## create the virtualenv and install requirements.txt

$(VENV)/.installed: requirements.txt
	$(SYSTEM_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

env: install ## create missing .env files from their examples (never overwrites)
	$(PYTHON) -m tools.env_files

db-init: env ## bring the configured databases to the latest schema: each service's migrations (idempotent)
	$(PYTHON) -m tools.db_init

schema: install ## write db_init.sql from the migrations (throw-away databases; never edit it by hand)
	$(PYTHON) -m tools.schema_dump

schema-check: install ## db_init.sql is what the migrations generate, and builds their schema (throw-away databases)
	$(PYTHON) -m tools.schema_check

admin: db-init ## create the admin from ADMIN_USERNAME / ADMIN_PASSWORD if missing
	$(PYTHON) -m tools.stack admin

run-all: admin ## set everything up, start what is not running, wait for /health
	$(PYTHON) -m tools.stack start

stop-all: ## stop the services started by run-all
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m tools.stack stop; fi

status: install ## show each service's pid, state and URL
	$(PYTHON) -m tools.stack status

logs: ## show the end of each service's log
	@tail -n 30 .run/*.log 2>/dev/null || echo "no logs yet: make run-all"

reconcile: install ## settle orders a crash left half-way (transaction service saga)
	$(PYTHON) -m flask --app transaction_service reconcile

forget: install ## erase the customer profiles of deleted users still pending (user service outbox)
	$(PYTHON) -m flask --app user_service forget-deleted

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

test: install node_modules/.package-lock.json ## every tier: unit, service (real MariaDB, throw-away databases), end-to-end
	$(PYTHON) -m pytest

unit-tests: install ## pure logic, no database or process (seconds)
	$(PYTHON) -m pytest tests/unit

service-tests: install ## each service's app in process against real MariaDB test databases
	$(PYTHON) -m pytest tests/service

e2e-tests: install node_modules/.package-lock.json ## the five processes through the gateway (they start their own stack)
	$(PYTHON) -m pytest tests/e2e

# The pins of requirements.txt but gevent's and gunicorn's, which are the newest on the index.
server-latest-test: node_modules/.package-lock.json ## the server layer's tests on the newest gevent and gunicorn (a second virtualenv, LATEST_VENV)
	$(SYSTEM_PYTHON) -m venv $(LATEST_VENV)
	grep -vE '^(gevent|gunicorn)==' requirements.txt > $(LATEST_VENV)/requirements-but-the-server.txt
	$(LATEST_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
		-r $(LATEST_VENV)/requirements-but-the-server.txt gevent gunicorn
	$(LATEST_VENV)/bin/python -c 'from importlib.metadata import version as v; print("newest: gevent", v("gevent"), "gunicorn", v("gunicorn"))'
	$(LATEST_VENV)/bin/python -m pytest $(SERVER_TESTS)

browser-tests: install node_modules/.package-lock.json ## the storefront in Debian's Chromium (Playwright), axe-core, screenshots (own stack)
	$(PYTHON) -m pytest tests/browser

lint: $(VENV)/.installed-dev ## ruff (lint and format), mypy, hadolint on the Dockerfile
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile

# @: the recipe would print the admin password.
newman: install node_modules/.package-lock.json ## run docs/postman against a running stack (BASE_URL; admin from .env)
	@node_modules/.bin/newman run docs/postman/shop.postman_collection.json \
		--environment docs/postman/local.postman_environment.json --env-var baseUrl=$(BASE_URL) \
		--env-var adminUsername='$(call setting,ADMIN_USERNAME)' --env-var adminPassword='$(call setting,ADMIN_PASSWORD)'

fuzz: install ## schemathesis, FUZZ_EXAMPLES per operation, against a running stack (BASE_URL); writes to its databases
	CONTRACT_BASE_URL=$(BASE_URL) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PYTHON) -m pytest tests/e2e/test_contract.py -k "not newman"

bench: install ## throughput, latency, memory through the gateway (own stack; needs wrk; BENCH_RUNS=5; ORIGINAL_URL= measures the original beside)
	$(PYTHON) -m bench.run

image: ## build the container image with podman (TEST_IMAGE; base made by mmdebstrap if missing)
	$(PODMAN_ENV) deploy/podman/build-image.sh $(TEST_IMAGE)

container-test: install node_modules/.package-lock.json image ## the image as containers, one per process (podman, host network): e2e journey and Postman
	$(PODMAN_ENV) SHOP_TEST_IMAGE=$(TEST_IMAGE) $(PYTHON) -m pytest tests/containers

replicas-test: install node_modules/.package-lock.json ## two of every service behind HAProxy, two gateways: races, SIGKILL, SIGTERM under load
	$(PYTHON) -m pytest tests/replicas

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

deploy-check: $(VENV)/.installed-dev ## compose.yaml and the Kubernetes manifests, checked without an engine
	deploy/check.sh

bench-observability: install ## the cost of metrics and traces: reads/s off, metrics, metrics+traces, alternated (BENCH_ROUNDS=6)
	$(PYTHON) -m bench.observability_cost

monitor: install ## Prometheus (Debian's package) scraping the run-all stack, on MONITOR_PORT (9090)
	MONITOR_PORT=$(MONITOR_PORT) $(PYTHON) -m tools.monitor start

monitor-stop: ## stop make monitor's Prometheus
	@if [ -x $(PYTHON) ]; then $(PYTHON) -m tools.monitor stop; fi

clean: stop-all ## stop everything, remove the virtualenv, logs and caches
	rm -rf $(VENV) $(LATEST_VENV) .run .pytest_cache .hypothesis node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
