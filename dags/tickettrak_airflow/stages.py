"""The stages: what each one runs, in which image, with which secrets, and how big it may get.

One table for both modes, so a laptop run and a cluster run execute the same `tickettrak`
command word for word. LOGICAL_DATE and RUN_ID are Jinja, rendered by Airflow per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# The run's logical date as YYYY-MM-DD. Airflow 3 gives a run triggered without one (`airflow dags
# trigger` with no -l, the UI's plain Trigger) no logical date, and then no `ds` at all: such a run
# is for the day it was asked to run (run_after).
LOGICAL_DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"
RUN_ID = "{{ run_id }}"


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class Stage:
    task_id: str
    args: tuple[str, ...]  # after the `tickettrak` executable
    image: str  # the id under `images:` in names.yaml
    secret_keys: tuple[str, ...]  # ids under `secret.keys:` in names.yaml (least privilege)
    resources: Resources
    timeout: timedelta
    doc: str


SMALL = Resources(cpu_request="100m", memory_request="256Mi", cpu_limit="1", memory_limit="512Mi")
MEDIUM = Resources(cpu_request="250m", memory_request="512Mi", cpu_limit="1", memory_limit="1Gi")

COLLECT = Stage(
    task_id="collect",
    args=("collect", "--logical-date", LOGICAL_DATE, "--run-id", RUN_ID),
    image="collector",
    # The collector talks only to the proxy (which holds the token); it reads the token's
    # presence to refuse a past logical date against the real API.
    secret_keys=("aviasalesToken",),
    resources=SMALL,
    timeout=timedelta(hours=2),
    doc="Sends the logical date's request plan through the proxy; every exchange lands in RAW. "
    "A rerun sends only what has not succeeded yet.",
)
LOAD = Stage(
    task_id="load",
    args=("load",),
    image="loader",
    secret_keys=("mongoUri", "postgresDsn"),
    resources=MEDIUM,
    timeout=timedelta(hours=1),
    doc="Moves RAW documents after the watermark into aviasales.request_logs and aviasales.tickets "
    "(exactly once; bad documents go to aviasales.load_errors).",
)
TRANSFORM = Stage(
    task_id="transform",
    args=("transform",),
    image="dbtRunner",
    secret_keys=("postgresDsn",),
    resources=MEDIUM,
    timeout=timedelta(hours=1),
    doc="dbt build: ods views, dwh dimensions and fact (incremental), the four marts, and their tests.",
)
REPORT = Stage(
    task_id="report",
    args=("report",),
    image="report",
    secret_keys=("postgresDsn",),
    resources=SMALL,
    timeout=timedelta(minutes=30),
    doc="Writes the analytics report (HTML with charts, CSV/JSON) from the marts.",
)
FRESHNESS = Stage(
    task_id="source_freshness",
    args=("transform", "--freshness"),
    image="dbtRunner",
    secret_keys=("postgresDsn",),
    resources=SMALL,
    timeout=timedelta(minutes=15),
    doc="dbt source freshness on aviasales.request_logs and aviasales.tickets: fails when the "
    "newest load is older than the thresholds in the dbt sources yml.",
)

PIPELINE = (COLLECT, LOAD, TRANSFORM, REPORT)
