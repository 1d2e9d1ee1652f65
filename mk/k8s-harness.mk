# A real Kubernetes API for the tests: kube-apiserver (built from the k8s.io/kubernetes source
# through the Go module proxy), kine on SQLite as its storage, kwok as the node. No containers.
# `make test-k8s` installs the chart on it and runs the DAG's stage tasks against it.

K8S_HARNESS_K8S_VERSION  := v1.37.2
K8S_HARNESS_KINE_VERSION := v0.17.5
K8S_HARNESS_KWOK_VERSION := v0.8.0
# Outside the work tree, so a fresh clone on the same machine (CI) reuses the binaries.
K8S_HARNESS_BIN ?= $(GOBIN)/k8s-harness-$(K8S_HARNESS_K8S_VERSION)

.PHONY: k8s-harness-tools
k8s-harness-tools: ## build kube-apiserver, kine, kwok from source into $(K8S_HARNESS_BIN) (cached; cold: see deploy/k8s-harness/README.md)
	@command -v go >/dev/null || { echo "go is not installed: cannot build the k8s API harness"; exit 1; }
	K8S_VERSION=$(K8S_HARNESS_K8S_VERSION) KINE_VERSION=$(K8S_HARNESS_KINE_VERSION) \
	  KWOK_VERSION=$(K8S_HARNESS_KWOK_VERSION) OUT=$(K8S_HARNESS_BIN) deploy/k8s-harness/build-tools.sh

.PHONY: test-k8s
test-k8s: k8s-harness-tools helm-tool airflow-venv ## the chart and the DAG's pods against a real kube-apiserver + kwok (localhost)
	TICKETTRAK_K8S_HARNESS_BIN=$(K8S_HARNESS_BIN) TICKETTRAK_HELM=$(HELM) \
	  $(AIRFLOW_VENV)/bin/python -m pytest -q -p no:cacheprovider --confcutdir tests/k8s_api \
	  -W ignore::DeprecationWarning tests/k8s_api $(PYTEST_ARGS)

# Succeeds when every harness binary is already built (what .ci/run asks before a cold build).
.PHONY: k8s-harness-cached
k8s-harness-cached:
	@for b in kube-apiserver kine kwok; do test -x $(K8S_HARNESS_BIN)/$$b || exit 1; done
