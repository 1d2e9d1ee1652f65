# Airflow: its own environment (.venv-airflow) and `make airflow` (standalone, local mode).
# Airflow's ~500 pinned dependencies stay out of .venv so they never constrain the stages'
# (dbt, FastAPI); the DAGs run the stages as `.venv/bin/tickettrak` processes (local mode) or
# as pods (kubernetes mode), so this environment needs only Airflow and the k8s provider.

AIRFLOW_VENV     := .venv-airflow
AIRFLOW_REQS     := dags/requirements-airflow-dev.txt
AIRFLOW_HOME_DIR ?= $(CURDIR)/.tickettrak/airflow
AIRFLOW_PORT     ?= 8280

$(AIRFLOW_VENV)/.synced: $(AIRFLOW_REQS)
	@$(ENSURE_UV)
	@test -x $(AIRFLOW_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(AIRFLOW_VENV)
	$(UV) pip sync --quiet --python $(AIRFLOW_VENV)/bin/python $(AIRFLOW_REQS)
	@$(AIRFLOW_VENV)/bin/airflow version >/dev/null
	@touch $@

.PHONY: airflow-venv
airflow-venv: $(AIRFLOW_VENV)/.synced ## create .venv-airflow (Airflow 3 + k8s provider, pinned) for the DAGs and their tests

ci-tools: airflow-venv

.PHONY: airflow-lock
airflow-lock: ## re-pin dags/requirements-airflow*.txt from the .in files (after a version bump)
	@$(ENSURE_UV)
	cd dags && $(UV) pip compile --quiet --universal --python-version 3.11 --no-header \
	  requirements-airflow.in -o requirements-airflow.txt
	cd dags && $(UV) pip compile --quiet --universal --python-version 3.11 --no-header \
	  requirements-airflow-dev.in -o requirements-airflow-dev.txt

.PHONY: airflow
airflow: venv airflow-venv ## Airflow standalone: the DAGs in local mode on the embedded services, UI on 127.0.0.1:8280
	@mkdir -p $(AIRFLOW_HOME_DIR)
	PATH=$(CURDIR)/$(AIRFLOW_VENV)/bin:$$PATH \
	AIRFLOW_HOME=$(AIRFLOW_HOME_DIR) \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__API__PORT=$(AIRFLOW_PORT) \
	AIRFLOW__API__HOST=127.0.0.1 \
	AIRFLOW__API__BASE_URL=http://127.0.0.1:$(AIRFLOW_PORT) \
	TICKETTRAK_AIRFLOW_MODE=local \
	TICKETTRAK_AIRFLOW_CLI=$(CURDIR)/$(TT) \
	  $(VENV)/bin/python dags/tools/with_local_services.py --airflow-home $(AIRFLOW_HOME_DIR) --port $(AIRFLOW_PORT) \
	  -- $(CURDIR)/$(AIRFLOW_VENV)/bin/airflow standalone

.PHONY: test-dags
test-dags: airflow-venv ## only the DAG tests, in .venv-airflow
	$(AIRFLOW_VENV)/bin/python -m pytest -q -p no:cacheprovider --confcutdir tests/unit/dags \
	  -W ignore::DeprecationWarning tests/unit/dags $(PYTEST_ARGS)
