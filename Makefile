# Suara: the front door. `make run` runs the platform; `make test` passes the tests.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL := services/categorization/model/default.joblib
AXE := tests/browser/node_modules/axe-core/axe.min.js
DASHBOARD_LIBS := services/reporting/web/node_modules/leaflet/dist/leaflet.js
SERVERS := deploy/local-servers.sh
ASYNCAPI_CLI := tests/contracts/node_modules/.bin/asyncapi
KUSTOMIZE_VERSION := v5.8.0
KUSTOMIZE := var/bin/kustomize-$(KUSTOMIZE_VERSION)

.PHONY: install kustomize contract-tools contracts cluster cluster-stop cluster-test model servers servers-stop run run-% test unit integration e2e lint format \
        bench soak fuzz chaos recount up down clean

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed (PY=$(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

$(MODEL): $(STAMP) $(wildcard services/categorization/corpus/*.jsonl)
	$(BIN)/suara train --output $(MODEL) >/dev/null

$(AXE): tests/browser/package-lock.json
	cd tests/browser && npm ci --no-audit --no-fund --silent
	@touch $@

$(DASHBOARD_LIBS): services/reporting/web/package-lock.json
	cd services/reporting/web && npm ci --no-audit --no-fund --silent
	@touch $@

install: $(STAMP) $(MODEL) $(AXE) $(DASHBOARD_LIBS) ## the virtualenv (.venv) with Suara and its tools, the default model, axe-core for the browser tests, the dashboard's Chart.js and Leaflet

$(ASYNCAPI_CLI): tests/contracts/package-lock.json
	cd tests/contracts && npm ci --no-audit --no-fund --silent
	@touch $@

contract-tools: $(ASYNCAPI_CLI) $(KUSTOMIZE) ## the AsyncAPI CLI (npm) and kustomize the contract and manifest tests use

contracts: $(STAMP) ## regenerate docs/asyncapi.yaml and the OpenAPI documents from the contracts
	$(BIN)/python -m shared.asyncapi > docs/asyncapi.yaml
	for s in intake categorization notification reporting; do \
	    $(BIN)/python -m shared.openapi $$s > docs/openapi/$$s.json; done

$(KUSTOMIZE):
	@command -v go >/dev/null || { echo "Go is needed to build kustomize (as for FerretDB)"; exit 1; }
	mkdir -p var/bin var/build/kustomize-bin
	GOBIN=$(CURDIR)/var/build/kustomize-bin go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv var/build/kustomize-bin/kustomize $@

kustomize: $(KUSTOMIZE) ## build kustomize (the manifests' tests render deploy/k8s with it)

model: $(STAMP) ## retrain the shipped default model from the corpus
	$(BIN)/suara train --output $(MODEL)

servers: ## install when missing and start RabbitMQ and FerretDB on 127.0.0.1
	$(SERVERS) start

servers-stop:
	$(SERVERS) stop

run: install ## servers and the four services in the foreground (Ctrl-C stops them all)
	$(BIN)/python deploy/platform.py --with-servers

run-%: install servers ## one service on its own, e.g. make run-categorization
	$(BIN)/python -m shared.runner $*

test: install servers contract-tools ## every test: unit, integration, e2e
	$(BIN)/pytest -q

unit: install
	$(BIN)/pytest -q tests/unit

integration: install servers contract-tools
	$(BIN)/pytest -q tests/integration

e2e: install servers
	$(BIN)/pytest -q tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install servers ## classifier throughput; Suara end to end, empty and with 10,000 stored, vs the broker (var/bench/latest.json)
	$(BIN)/python bench/classify_bench.py
	$(BIN)/python bench/e2e_bench.py --profile 15

soak: install servers ## 30 minutes at half the max rate with the history loaded; fails on growth or loss (var/bench/soak.json)
	$(BIN)/python bench/soak.py

fuzz: install servers ## 10,000 property- and grammar-based inputs at every boundary (tests/fuzz)
	$(BIN)/python -m tests.fuzz

chaos: install servers ## 1,000 feedback while services are killed and servers restarted (tests/chaos)
	$(BIN)/python -m tests.chaos

cluster: install ## a three-node RabbitMQ cluster on 127.0.0.1:5701-5703 (deploy/rabbitmq-cluster.sh; stop: make cluster-stop)
	deploy/rabbitmq-cluster.sh start

cluster-stop:
	deploy/rabbitmq-cluster.sh stop

cluster-test: install servers ## Suara on the three-node cluster with quorum queues: a node SIGKILLed under 500 feedback loses nothing (tests/cluster)
	$(BIN)/python -m tests.cluster

recount: install ## reporting's summary counted again from its projection; exit 1 on a difference
	$(BIN)/python -m services.reporting.recount

up: ## the platform in Docker (needs a Docker engine)
	docker compose up --build -d

down:
	docker compose down

clean: ## stop local servers, remove the virtualenv and local data
	-$(SERVERS) stop
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info $(MODEL)
