"""Helpers for the DAG tests: parse the DAG folder as Airflow does, and render a task for a run."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
DAGS_DIR = REPO_ROOT / "dags"
NAMES_FILE = REPO_ROOT / "helm" / "tickettrak" / "names.yaml"
SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"

LOGICAL_DATE = datetime(2026, 11, 20, tzinfo=UTC)
RUN_ID = "scheduled__2026-11-20T00:00:00+00:00"


def clear_tickettrak_env(monkeypatch: Any) -> None:
    """Unset every TICKETTRAK_* variable the DAGs read (TICKETTRAK_TEST_* steer the tests and stay)."""
    for key in list(os.environ):
        if key.startswith("TICKETTRAK_") and not key.startswith("TICKETTRAK_TEST_"):
            monkeypatch.delenv(key)


def parse_dags() -> Any:
    """The DAG folder parsed by Airflow's own bundle DagBag (the DAG processor's code path)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR)


def render_for_run(
    task: Any,
    logical_date: datetime | None = LOGICAL_DATE,
    run_id: str = RUN_ID,
    run_after: datetime | None = None,
) -> dict[str, Any]:
    """Render `task`'s templates with the context Airflow's task runner builds for that run.

    The context comes from Airflow's RuntimeTaskInstance (not a hand-written dict), so `ds` and
    friends are derived from the logical date exactly as in a real run. `logical_date=None` is a
    run triggered without one (Airflow 3: no `ds` in its context), asked for at `run_after`.
    """
    run_after = run_after or logical_date
    assert run_after is not None, "a run without a logical date needs run_after"
    from airflow.sdk.api.datamodels._generated import DagRun, TIRunContext
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    dag_run = DagRun(
        dag_id=task.dag_id,
        run_id=run_id,
        logical_date=logical_date,
        data_interval_start=logical_date,
        data_interval_end=logical_date,
        run_after=run_after,
        start_date=run_after,
        end_date=None,
        run_type="scheduled" if logical_date else "manual",
        state="running",
        consumed_asset_events=[],
        partition_key=None,
    )
    ti = RuntimeTaskInstance.model_construct(
        id=uuid.uuid4(),
        task_id=task.task_id,
        dag_id=task.dag_id,
        run_id=run_id,
        try_number=1,
        map_index=-1,
        task=task,
        max_tries=task.retries,
        start_date=run_after,
        dag_version_id=uuid.uuid4(),
    )
    ti._ti_context_from_server = TIRunContext(dag_run=dag_run, max_tries=task.retries)
    context: dict[str, Any] = ti.get_template_context()
    task.render_template_fields(context)
    return context


def pod_manifest(task: Any) -> dict[str, Any]:
    """The pod a KubernetesPodOperator task would create for the fixed run, as sent to the API."""
    from kubernetes.client import ApiClient

    context = render_for_run(task)
    pod = task.build_pod_request_obj(context, dry_run=True)
    manifest: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
    return manifest
