"""DAG tests run in the Airflow environment (.venv-airflow), which is separate from .venv.

In .venv (no Airflow) pytest collects only `test_airflow_env_suite.py`, which runs this folder
with .venv-airflow's Python (`--confcutdir` keeps the repo's root conftest, which imports
TicketTrak packages that env lacks, out of it). In .venv-airflow it collects everything else.
Airflow reads AIRFLOW_HOME when it is first imported, so it is set here, before any test module.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from airflow_dag_helpers import DAGS_DIR, NAMES_FILE, clear_tickettrak_env

IN_AIRFLOW_ENV = importlib.util.find_spec("airflow") is not None

if IN_AIRFLOW_ENV:
    collect_ignore = ["test_airflow_env_suite.py"]
    _home = tempfile.mkdtemp(prefix="tt-airflow-home-")
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": _home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
else:
    collect_ignore_glob = ["test_dag_*.py"]


@pytest.fixture
def dag_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean TicketTrak environment for parsing the DAGs; set variables on the yielded patcher."""
    clear_tickettrak_env(monkeypatch)
    monkeypatch.setenv("TICKETTRAK_NAMES_FILE", str(NAMES_FILE))
    yield monkeypatch


@pytest.fixture
def kubernetes_env(dag_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    dag_env.setenv("TICKETTRAK_AIRFLOW_MODE", "kubernetes")
    dag_env.setenv("TICKETTRAK_AIRFLOW_IMAGE_TAG", "0a1b2c3")
    return dag_env
