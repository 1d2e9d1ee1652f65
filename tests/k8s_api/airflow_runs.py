"""Run one pipeline task with `airflow tasks test` in kubernetes mode against the harness API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness import REPO_ROOT, ControlPlane

AIRFLOW = Path(sys.executable).parent / "airflow"
DAG_ID = "tickettrak_pipeline"
LOGICAL_DATE = "2026-11-20"
IMAGE_TAG = "0a1b2c3"
FAILING_IMAGE_TAG = "kwok-fail"  # deploy/k8s-harness/kwok-stages.yaml drives such pods to Failed
_STATE = re.compile(r"Task instance state updated .* new_state=(\w+)")


@dataclass(frozen=True)
class TaskRun:
    returncode: int
    output: str

    @property
    def final_state(self) -> str | None:
        """The state Airflow's execution API recorded last (`airflow tasks test` exits 0 either way)."""
        states = _STATE.findall(self.output)
        return states[-1] if states else None


def airflow_env(
    plane: ControlPlane, image_tag: str = IMAGE_TAG, names_file: Path | None = None
) -> dict[str, str]:
    assert plane.kubeconfig is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETTRAK_", "KUBECONFIG"))}
    env.update(
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # On a busy 2-core machine parsing can exceed the 30 s default.
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
            "AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT": "300",
            "TICKETTRAK_AIRFLOW_MODE": "kubernetes",
            "TICKETTRAK_AIRFLOW_IMAGE_TAG": image_tag,
            "TICKETTRAK_AIRFLOW_IN_CLUSTER": "false",
            "TICKETTRAK_AIRFLOW_KUBECONFIG": str(plane.kubeconfig),
            "TICKETTRAK_AIRFLOW_START_DATE": "2026-11-01",
            "TICKETTRAK_AIRFLOW_SCHEDULE": "none",
        }
    )
    if names_file is not None:
        env["TICKETTRAK_NAMES_FILE"] = str(names_file)
    return env


def airflow(env: dict[str, str], *args: str, timeout: float = 600) -> TaskRun:
    result = subprocess.run(
        [str(AIRFLOW), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return TaskRun(result.returncode, result.stdout + result.stderr)


def prepare_airflow_db(plane: ControlPlane) -> None:
    """`airflow tasks test` reads the DAG from the metadata DB: migrate it and serialize the DAGs."""
    env = airflow_env(plane)
    for args in (("db", "migrate"), ("dags", "reserialize")):
        run = airflow(env, *args)
        assert run.returncode == 0, f"airflow {' '.join(args)} failed:\n{run.output[-4000:]}"


def run_task(plane: ControlPlane, task_id: str, **env_options: object) -> TaskRun:
    env = airflow_env(plane, **env_options)  # type: ignore[arg-type]
    return airflow(env, "tasks", "test", DAG_ID, task_id, LOGICAL_DATE)
