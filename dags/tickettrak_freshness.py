"""Maintenance DAG: is the loaded data fresh? (`dbt source freshness` on the aviasales sources)."""

from __future__ import annotations

from airflow.sdk import DAG
from tickettrak_airflow.config import load_config
from tickettrak_airflow.factory import DEFAULT_ARGS, stage_task
from tickettrak_airflow.stages import FRESHNESS

CONFIG = load_config()

DOC = """
# TicketTrak source freshness

Runs `tickettrak transform --freshness` (dbt `source freshness`) every six hours: it fails when
the newest row of `aviasales.request_logs` / `aviasales.tickets` is older than the error
threshold declared in the dbt sources yml (`loaded_at_field`), which means the pipeline has
stopped delivering. A warning-level delay shows in the task log without failing.

It reads only; it never changes data, so it may run at any time next to the pipeline.
"""

with DAG(
    dag_id="tickettrak_source_freshness",
    description="dbt source freshness of aviasales.request_logs and aviasales.tickets",
    schedule="0 */6 * * *",
    start_date=CONFIG.start_date,
    catchup=False,  # freshness is about now; past checks say nothing
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["tickettrak", "maintenance", CONFIG.mode],
    doc_md=DOC,
) as dag:
    stage_task(FRESHNESS, CONFIG)
