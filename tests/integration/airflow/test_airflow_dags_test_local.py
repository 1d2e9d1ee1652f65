"""`airflow dags test` of the pipeline in local mode, against the sandbox and the embedded services.

Exactly the `make airflow` wiring: dags/tools/with_local_services.py starts the embedded
PostgreSQL, the sandbox and the proxy, and runs Airflow (from .venv-airflow) with the DAG folder;
every task runs `.venv/bin/tickettrak <stage>` as a local process. Run 1 must succeed task by task
and leave rows for the logical date in the marts; run 2 of the same logical date (services
restarted, data kept under TICKETTRAK_HOME) must change no row count anywhere — RAW, aviasales,
ods, dwh. Before run 2, the maintenance DAG's dbt source freshness check passes on the fresh load.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
AIRFLOW = REPO_ROOT / ".venv-airflow" / "bin" / "airflow"
LAUNCHER = REPO_ROOT / "dags" / "tools" / "with_local_services.py"
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
DAG_ID = "tickettrak_pipeline"
FRESHNESS_DAG_ID = "tickettrak_source_freshness"
STAGES = ("collect", "load", "transform", "report")

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass
class AirflowSandbox:
    env: dict[str, str]
    airflow_home: Path
    tickettrak_home: Path

    def run_dags(self, dag_ids: list[str], logical_date: date, log: Path) -> subprocess.CompletedProcess[str]:
        """`airflow dags test` of each DAG in turn, inside one launch of the local services."""
        script = " && ".join(
            f"{shlex.quote(str(AIRFLOW))} dags test {d} {logical_date.isoformat()}" for d in dag_ids
        )
        started = time.monotonic()
        result = subprocess.run(
            [str(VENV_PYTHON), str(LAUNCHER), "--", "bash", "-c", script],
            env=self.env,
            cwd=self.tickettrak_home.parent,
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        log.write_text(
            f"# {time.monotonic() - started:.0f}s\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
        return result

    def task_states(self, logical_date: date, dag_id: str = DAG_ID) -> dict[str, str]:
        """Each task's state in the latest DAG run of that logical date (Airflow's metadata DB).

        A run whose logical date precedes the tasks' start date gets no task instances and still
        "succeeds": comparing the states with every stage catches that.
        """
        with sqlite3.connect(self.airflow_home / "airflow.db") as db:
            latest = db.execute(
                "select run_id from dag_run where dag_id = ? and date(logical_date) = ?"
                " order by id desc limit 1",
                (dag_id, logical_date.isoformat()),
            ).fetchone()
            assert latest is not None, f"no DAG run for {logical_date}"
            rows = db.execute(
                "select task_id, state from task_instance where dag_id = ? and run_id = ?",
                (dag_id, latest[0]),
            ).fetchall()
        return {task_id: state for task_id, state in rows}


@pytest.fixture
def airflow_sandbox(tmp_path: Path, tt_env: Path) -> Iterator[AirflowSandbox]:
    """Airflow's metadata DB migrated in a temp AIRFLOW_HOME; TicketTrak's data in tt_env's home."""
    assert AIRFLOW.exists(), f"{AIRFLOW} not found: run `make airflow-venv` (or `make ci-tools`)"
    airflow_home = tmp_path / "airflow"
    tickettrak_home = tt_env
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKETTRAK_", "AIRFLOW", "VIRTUAL_ENV"))}
    env.update(
        {
            "TICKETTRAK_HOME": str(tickettrak_home),
            "TICKETTRAK_LOG_FORMAT": "json",
            "TICKETTRAK_AIRFLOW_MODE": "local",
            "TICKETTRAK_AIRFLOW_CLI": str(REPO_ROOT / ".venv" / "bin" / "tickettrak"),
            "TICKETTRAK_AIRFLOW_START_DATE": "2026-01-01",
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
    )
    migrate = subprocess.run(
        [str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
    yield AirflowSandbox(env, airflow_home, tickettrak_home)


def _row_counts(tickettrak_home: Path) -> dict[str, int]:
    """Rows in every table and view of the aviasales, ods and dwh schemas, and RAW documents."""
    import psycopg

    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.settings import load_settings

    settings = load_settings(home=tickettrak_home)
    counts = {"raw.raw_exchanges": open_raw_database(settings)["raw_exchanges"].count_documents({})}
    with open_postgres(settings) as dsn, psycopg.connect(dsn) as conn:
        relations = conn.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_schema in ('aviasales', 'ods', 'dwh') order by 1, 2"
        ).fetchall()
        for schema, name in relations:
            counts[f"{schema}.{name}"] = conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[
                0
            ]
    return counts


def _rows_for_date(tickettrak_home: Path, day: date) -> dict[str, int]:
    import psycopg

    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.settings import load_settings

    queries = {
        "request_logs": "select count(*) from aviasales.request_logs where logical_date = %s",
        "mart_price_dynamics": "select count(*) from dwh.mart_price_dynamics where observed_date = %s",
        "mart_optimal_purchase_dates": (
            "select count(*) from dwh.mart_optimal_purchase_dates where latest_observed_date = %s"
        ),
        "mart_avg_price_by_route": "select count(*) from dwh.mart_avg_price_by_route where %s is not null",
    }
    with open_postgres(load_settings(home=tickettrak_home)) as dsn, psycopg.connect(dsn) as conn:
        return {name: conn.execute(sql, (day,)).fetchone()[0] for name, sql in queries.items()}


def test_dags_test_pipeline_builds_marts_and_a_rerun_changes_nothing(
    airflow_sandbox: AirflowSandbox, tmp_path: Path
) -> None:
    logical_date = datetime.now(UTC).date() - timedelta(days=2)

    first = airflow_sandbox.run_dags([DAG_ID], logical_date, tmp_path / "run1.log")
    assert first.returncode == 0, f"run 1 failed (log: {tmp_path / 'run1.log'}):\n{first.stdout[-5000:]}"
    assert airflow_sandbox.task_states(logical_date) == dict.fromkeys(STAGES, "success")

    for name, rows in _rows_for_date(airflow_sandbox.tickettrak_home, logical_date).items():
        assert rows > 0, f"{name} has no rows for {logical_date}"
    before = _row_counts(airflow_sandbox.tickettrak_home)
    assert before["aviasales.tickets"] > 0 and before["raw.raw_exchanges"] > 0
    assert {"dwh.mart_price_dynamics", "dwh.mart_avg_price_by_route"} <= before.keys()

    # The maintenance DAG first: the data was just loaded, so dbt source freshness must pass.
    second = airflow_sandbox.run_dags([FRESHNESS_DAG_ID, DAG_ID], logical_date, tmp_path / "run2.log")
    assert second.returncode == 0, f"run 2 failed (log: {tmp_path / 'run2.log'}):\n{second.stdout[-5000:]}"
    assert airflow_sandbox.task_states(logical_date, FRESHNESS_DAG_ID) == {"source_freshness": "success"}
    assert airflow_sandbox.task_states(logical_date) == dict.fromkeys(STAGES, "success")
    after = _row_counts(airflow_sandbox.tickettrak_home)
    print(f"row counts after each run of {logical_date}: {after}")
    changed = {
        name: (before.get(name), after.get(name))
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
    }
    assert changed == {}, f"a rerun of {logical_date} changed row counts: {changed}"
