"""Runs the DAG tests in the Airflow environment from the main test suite (`make test`).

Airflow lives in its own .venv-airflow (its pins would constrain the stages' dependencies), so
`.venv/bin/pytest` cannot import it; this test runs this folder with .venv-airflow's Python and
fails with that run's output if any DAG test fails. Build the environment with
`make airflow-venv` (part of `make ci-tools`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
AIRFLOW_PYTHON = (
    Path(os.environ.get("TICKETTRAK_TEST_AIRFLOW_VENV", REPO_ROOT / ".venv-airflow")) / "bin" / "python"
)


@pytest.mark.slow
def test_dag_suite_passes_in_the_airflow_environment() -> None:
    assert AIRFLOW_PYTHON.exists(), (
        f"{AIRFLOW_PYTHON} not found: run `make airflow-venv` (or `make ci-tools`)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST_", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [
            str(AIRFLOW_PYTHON),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--confcutdir",
            str(HERE),
            "-W",
            "ignore::DeprecationWarning",
            str(HERE),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "(no output)"
    assert result.returncode == 0, (
        f"DAG tests failed in .venv-airflow: {summary}\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
