"""The pipeline is exactly collect -> load -> transform -> report, and local mode runs the CLI."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from airflow_dag_helpers import LOGICAL_DATE, REPO_ROOT, parse_dags, render_for_run

PIPELINE_EDGES = {("collect", "load"), ("load", "transform"), ("transform", "report")}


def _edges(dag: Any) -> set[tuple[str, str]]:
    return {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_pipeline_is_exactly_collect_load_transform_report(dag_env: pytest.MonkeyPatch, mode: str) -> None:
    dag_env.setenv("TICKETTRAK_AIRFLOW_MODE", mode)
    dag_env.setenv("TICKETTRAK_AIRFLOW_IMAGE_TAG", "0a1b2c3")
    dag = parse_dags().dags["tickettrak_pipeline"]
    assert {task.task_id for task in dag.tasks} == {"collect", "load", "transform", "report"}
    assert _edges(dag) == PIPELINE_EDGES
    assert [task.task_id for task in dag.topological_sort()] == ["collect", "load", "transform", "report"]


def test_freshness_dag_is_one_read_only_task(dag_env: pytest.MonkeyPatch) -> None:
    dag = parse_dags().dags["tickettrak_source_freshness"]
    assert [task.task_id for task in dag.tasks] == ["source_freshness"]
    assert dag.tasks[0].bash_command.split()[2:] == ["transform", "--freshness"]


def test_local_mode_runs_the_repo_cli_by_default(dag_env: pytest.MonkeyPatch) -> None:
    dag = parse_dags().dags["tickettrak_pipeline"]
    cli = str(REPO_ROOT / ".venv" / "bin" / "tickettrak")
    for task in dag.tasks:
        assert task.bash_command.startswith(f"exec {cli} {task.task_id}"), task.bash_command
        assert task.append_env is True  # stages inherit TICKETTRAK_HOME, DSN, proxy URL


def _run_rendered(task: Any, run_id: str) -> list[str]:
    """Render the task for a run and execute its bash command as BashOperator would."""
    render_for_run(task, run_id=run_id)
    env = {**os.environ, **task.env}
    result = subprocess.run(
        ["bash", "-c", task.bash_command], env=env, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.splitlines()


def test_local_mode_passes_logical_date_and_run_id_verbatim(
    dag_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Real bash, real rendering: a CLI that prints its argv shows exactly what a stage receives.

    The run id is hostile on purpose (a manual run id is user text): it must arrive as one
    argument, unexpanded, and must not run anything.
    """
    printer = tmp_path / "print-args"
    printer.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    printer.chmod(0o755)
    dag_env.setenv("TICKETTRAK_AIRFLOW_CLI", str(printer))
    dag_env.setenv("TICKETTRAK_AIRFLOW_ROUTES", "/etc/tickettrak/routes with space.yaml")
    dag = parse_dags().dags["tickettrak_pipeline"]
    hostile = 'manual__x\'; touch pwned; echo "$(id)" `id`'

    args = _run_rendered(dag.get_task("collect"), hostile)
    assert args == [
        "collect",
        "--logical-date",
        LOGICAL_DATE.date().isoformat(),
        "--run-id",
        hostile,
        "--routes",
        "/etc/tickettrak/routes with space.yaml",
    ]
    assert not (tmp_path / "pwned").exists()
    for stage in ("load", "transform", "report"):
        assert _run_rendered(dag.get_task(stage), hostile)[0] == stage


def test_every_stage_gets_the_run_in_its_environment(dag_env: pytest.MonkeyPatch) -> None:
    dag = parse_dags().dags["tickettrak_pipeline"]
    for task in dag.tasks:
        render_for_run(task)
        assert task.env == {
            "TICKETTRAK_LOGICAL_DATE": "2026-11-20",
            "TICKETTRAK_RUN_ID": "scheduled__2026-11-20T00:00:00+00:00",
        }


@pytest.mark.parametrize("mode", ["local", "kubernetes"])
def test_a_run_triggered_without_a_logical_date_is_for_the_day_it_was_asked(
    dag_env: pytest.MonkeyPatch, mode: str
) -> None:
    # `airflow dags trigger` without -l (make trigger, the UI's Trigger): Airflow 3 gives the run
    # no logical date and its context no `ds`; a strict template on `ds` failed every stage.
    dag_env.setenv("TICKETTRAK_AIRFLOW_MODE", mode)
    dag_env.setenv("TICKETTRAK_AIRFLOW_IMAGE_TAG", "0a1b2c3")
    asked = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    for task in parse_dags().dags["tickettrak_pipeline"].tasks:
        context = render_for_run(
            task, logical_date=None, run_id="manual__2026-11-28T23:30:00", run_after=asked
        )
        assert "ds" not in context  # what made `{{ ds }}` fail
        if mode == "local":
            assert task.env["TICKETTRAK_LOGICAL_DATE"] == "2026-11-28"
        else:
            assert {env.name: env.value for env in task.env_vars}["TICKETTRAK_LOGICAL_DATE"] == "2026-11-28"
            if "--logical-date" in task.arguments:
                assert task.arguments[task.arguments.index("--logical-date") + 1] == "2026-11-28"


def test_local_tasks_keep_stage_output_out_of_xcom(dag_env: pytest.MonkeyPatch) -> None:
    for dag in parse_dags().dags.values():
        for task in dag.tasks:
            assert task.do_xcom_push is False, task.task_id
