# TicketTrak — every entry point a person or CI uses. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv comes from PyPI; the machine's Python is used as is (no interpreter downloads).
export UV_PYTHON_DOWNLOADS := never
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
VENV := .venv
TT := $(VENV)/bin/tickettrak
GOBIN ?= $(shell go env GOPATH 2>/dev/null)/bin

# Pinned tool versions (built from source through the Go module proxy).
FERRETDB_VERSION := v1.24.2

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock $(wildcard */pyproject.toml jobs/*/pyproject.toml libs/*/pyproject.toml)
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

.PHONY: venv
venv: $(VENV)/.synced ## create or update .venv with every stage and the dev tools

.PHONY: run
run: venv ## the whole pipeline on a laptop (embedded services, sandbox unless a token is set)
	$(TT) run $(ARGS)

.PHONY: test
test: venv ## the test suite (unit + integration; FerretDB tests run when a ferretdb binary is found)
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## only the fast tests that need no services
	$(VENV)/bin/pytest -q tests/unit $(PYTEST_ARGS)

.PHONY: lint
lint: venv ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/common/src sandbox/src proxy/src jobs/collector/src jobs/loader/src jobs/dbt_runner/src jobs/report/src local/src

.PHONY: fmt
fmt: venv ## format the code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: tools
tools: ## build the test tools that come from source (FerretDB)
	@command -v go >/dev/null || { echo "go is not installed: FerretDB tests will be skipped"; exit 0; }
	@test -x $(GOBIN)/ferretdb || go install github.com/FerretDB/FerretDB/cmd/ferretdb@$(FERRETDB_VERSION)
	@$(GOBIN)/ferretdb --version | head -1

# Each area keeps its own targets in mk/<area>.mk (Kubernetes, Airflow, benchmarks).
-include mk/*.mk

# What CI builds before the tests; area files add prerequisites with `ci-tools: <target>`.
.PHONY: ci-tools
ci-tools: tools

.PHONY: sandbox
sandbox: venv ## serve the Aviasales sandbox on :8090
	$(TT) sandbox --port 8090

.PHONY: clean
clean: ## remove the local environment and embedded data
	rm -rf $(VENV) .tickettrak .pytest_cache .mypy_cache .ruff_cache
