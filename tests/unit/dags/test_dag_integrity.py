"""The DAG folder parses cleanly in both modes and every DAG and task follows the house policy."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from airflow_dag_helpers import DAGS_DIR, parse_dags

EXPECTED_DAGS = {"tickettrak_pipeline", "tickettrak_source_freshness"}


def _parse_clean() -> dict[str, object]:
    bag = parse_dags()
    assert bag.import_errors == {}, bag.import_errors
    assert set(bag.dags) == EXPECTED_DAGS
    return dict(bag.dags)


def test_parses_without_errors_in_local_mode(dag_env: pytest.MonkeyPatch) -> None:
    _parse_clean()


def test_parses_without_errors_in_kubernetes_mode(kubernetes_env: pytest.MonkeyPatch) -> None:
    _parse_clean()


def test_only_dag_files_are_parsed(dag_env: pytest.MonkeyPatch) -> None:
    """The helper package and the launcher script are not DAG files (.airflowignore)."""
    bag = parse_dags()
    parsed = {stat.file for stat in bag.dagbag_stats}
    assert parsed == {"tickettrak_pipeline.py", "tickettrak_freshness.py"}


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_policy_tags_docs_retries_timeouts(dag_env: pytest.MonkeyPatch, mode: str) -> None:
    dag_env.setenv("TICKETTRAK_AIRFLOW_MODE", mode)
    dag_env.setenv("TICKETTRAK_AIRFLOW_IMAGE_TAG", "0a1b2c3")
    for dag in _parse_clean().values():
        assert "tickettrak" in dag.tags, dag.dag_id  # type: ignore[attr-defined]
        assert mode in dag.tags, dag.dag_id  # type: ignore[attr-defined]
        assert dag.doc_md and len(dag.doc_md) > 200, dag.dag_id  # type: ignore[attr-defined]
        assert dag.max_active_runs == 1, dag.dag_id  # type: ignore[attr-defined]
        for task in dag.tasks:  # type: ignore[attr-defined]
            where = f"{dag.dag_id}.{task.task_id}"  # type: ignore[attr-defined]
            assert task.retries >= 2, where
            assert task.retry_exponential_backoff, where
            assert task.retry_delay >= timedelta(seconds=30), where
            assert task.execution_timeout is not None, where
            assert timedelta(0) < task.execution_timeout <= timedelta(hours=2), where
            assert task.doc_md, where


def test_catchup_on_against_the_sandbox(dag_env: pytest.MonkeyPatch) -> None:
    dags = _parse_clean()
    assert dags["tickettrak_pipeline"].catchup is True  # type: ignore[attr-defined]
    assert "sandbox" in dags["tickettrak_pipeline"].tags  # type: ignore[attr-defined]


def test_catchup_off_with_a_real_token(dag_env: pytest.MonkeyPatch) -> None:
    dag_env.setenv("TICKETTRAK_AVIASALES_TOKEN", "a-real-looking-token")
    dags = _parse_clean()
    assert dags["tickettrak_pipeline"].catchup is False  # type: ignore[attr-defined]
    assert "real" in dags["tickettrak_pipeline"].tags  # type: ignore[attr-defined]


def test_catchup_off_by_default_in_kubernetes_mode(kubernetes_env: pytest.MonkeyPatch) -> None:
    """The token lives in the Secret, invisible to Airflow: default to the real API's rules."""
    assert _parse_clean()["tickettrak_pipeline"].catchup is False  # type: ignore[attr-defined]
    kubernetes_env.setenv("TICKETTRAK_AIRFLOW_API", "sandbox")
    assert _parse_clean()["tickettrak_pipeline"].catchup is True  # type: ignore[attr-defined]


def test_freshness_never_catches_up(dag_env: pytest.MonkeyPatch) -> None:
    assert _parse_clean()["tickettrak_source_freshness"].catchup is False  # type: ignore[attr-defined]


def test_schedule_and_start_date_from_env(dag_env: pytest.MonkeyPatch) -> None:
    dags = _parse_clean()
    assert dags["tickettrak_pipeline"].schedule == "@daily"  # type: ignore[attr-defined]
    dag_env.setenv("TICKETTRAK_AIRFLOW_SCHEDULE", "30 4 * * *")
    dag_env.setenv("TICKETTRAK_AIRFLOW_START_DATE", "2026-10-01")
    pipeline = _parse_clean()["tickettrak_pipeline"]
    assert pipeline.schedule == "30 4 * * *"  # type: ignore[attr-defined]
    assert pipeline.start_date.isoformat() == "2026-10-01T00:00:00+00:00"  # type: ignore[attr-defined]
    dag_env.setenv("TICKETTRAK_AIRFLOW_SCHEDULE", "none")
    assert _parse_clean()["tickettrak_pipeline"].schedule is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TICKETTRAK_AIRFLOW_MODE", "docker", "TICKETTRAK_AIRFLOW_MODE: must be one of local, kubernetes"),
        ("TICKETTRAK_AIRFLOW_START_DATE", "20/11/2026", "TICKETTRAK_AIRFLOW_START_DATE: must be YYYY-MM-DD"),
        ("TICKETTRAK_AIRFLOW_CATCHUP", "maybe", "TICKETTRAK_AIRFLOW_CATCHUP: must be true or false"),
        ("TICKETTRAK_NAMES_FILE", "/nonexistent/names.yaml", "TICKETTRAK_NAMES_FILE: cannot read"),
    ],
)
def test_bad_configuration_is_an_import_error_naming_the_variable(
    kubernetes_env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    kubernetes_env.setenv(variable, value)
    bag = parse_dags()
    assert set(bag.import_errors) == {"tickettrak_pipeline.py", "tickettrak_freshness.py"}
    for error in bag.import_errors.values():
        assert message in error


@pytest.mark.parametrize("tag", ["", "latest", "unset", "bad tag"])
def test_kubernetes_mode_needs_an_explicit_image_tag(kubernetes_env: pytest.MonkeyPatch, tag: str) -> None:
    kubernetes_env.setenv("TICKETTRAK_AIRFLOW_IMAGE_TAG", tag)
    bag = parse_dags()
    assert bag.dags == {}
    assert all("TICKETTRAK_AIRFLOW_IMAGE_TAG" in error for error in bag.import_errors.values())
    assert len(bag.import_errors) == 2


# Parsing cost of the DAG files themselves, once Airflow and the operator modules are loaded (a
# running DAG processor has them): reading env + names.yaml, building the tasks. A network call, a
# database connection or heavy computation at import would blow this budget. One subprocess for
# both modes: a fresh interpreter, so nothing this test session imported is reused.
IMPORT_BUDGET_SECONDS = 1.0

_TIMING_SCRIPT = """
import json, os, sys, time, importlib.util
dags = sys.argv[1]
sys.path.insert(0, dags)
import airflow.sdk
import airflow.providers.standard.operators.bash
import airflow.providers.cncf.kubernetes.operators.pod
timings = {}
for mode in ("local", "kubernetes"):
    os.environ["TICKETTRAK_AIRFLOW_MODE"] = mode
    for name in ("tickettrak_pipeline", "tickettrak_freshness"):
        spec = importlib.util.spec_from_file_location(f"{name}_{mode}", f"{dags}/{name}.py")
        module = importlib.util.module_from_spec(spec)
        started = time.perf_counter()
        spec.loader.exec_module(module)
        timings[f"{name} ({mode})"] = time.perf_counter() - started
        assert module.dag.tags and mode in module.dag.tags
print(json.dumps(timings))
"""


def test_dag_files_import_within_budget(kubernetes_env: pytest.MonkeyPatch) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _TIMING_SCRIPT, str(DAGS_DIR)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(timings) == 4
    for name, seconds in timings.items():
        assert seconds < IMPORT_BUDGET_SECONDS, f"{name} took {seconds:.2f}s to import"
