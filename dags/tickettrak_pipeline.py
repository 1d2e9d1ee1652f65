"""The TicketTrak pipeline DAG: collect -> load -> transform -> report, once per logical date."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG, chain
from tickettrak_airflow.config import load_config
from tickettrak_airflow.factory import DEFAULT_ARGS, stage_task
from tickettrak_airflow.stages import PIPELINE

CONFIG = load_config()
RUNS_AS = "one Kubernetes pod per stage" if CONFIG.mode == "kubernetes" else "local processes"

DOC = f"""
# TicketTrak pipeline

Flight prices for Russia ↔ UAE routes from the Aviasales Data API, one logical date per run.

| task | what it does |
|---|---|
| **collect** | sends the logical date's request plan through the proxy; each exchange is kept in RAW |
| **load** | moves the new RAW documents into PostgreSQL `aviasales.request_logs` and `aviasales.tickets` |
| **transform** | `dbt build`: `ods` views, `dwh` dimensions and fact, the four marts, their tests |
| **report** | the HTML/CSV report from the marts |

Every task runs `tickettrak <stage>` — here as {RUNS_AS} — with the run's logical date
(`--logical-date`: `ds`, or the day a run triggered without a logical date was asked for) and run id.
Each stage is idempotent: rerunning a date (Clear in the UI) finishes what is missing and changes no
row counts.

**API: {CONFIG.api}.** Catchup is **{"on" if CONFIG.catchup else "off"}**: against the sandbox, a
backfill (`airflow backfill create --dag-id tickettrak_pipeline --from-date ... --to-date ...`)
builds a simulated price history day by day (from the start date, {CONFIG.start_date:%Y-%m-%d}, on:
earlier dates get no tasks; set `TICKETTRAK_AIRFLOW_START_DATE` for more); the real API cannot
show the past, so real-API runs are for today only. Runs go one at a time (the stages share one
database and advance one watermark).

When a task fails: its log ends with the reason (in a pod, also the termination message shown in
the task error). Retries: 2, with exponential backoff.

Configuration: `TICKETTRAK_AIRFLOW_*` variables, see `dags/README.md`.
"""

with DAG(
    dag_id="tickettrak_pipeline",
    description="Aviasales prices: collect -> load -> transform -> report",
    schedule=CONFIG.schedule,
    start_date=CONFIG.start_date,
    catchup=CONFIG.catchup,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    default_args=DEFAULT_ARGS,
    tags=["tickettrak", "pipeline", CONFIG.mode, CONFIG.api],
    doc_md=DOC,
) as dag:
    chain(*(stage_task(stage, CONFIG) for stage in PIPELINE))
