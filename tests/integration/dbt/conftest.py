"""dbt test fixtures: a fresh database with the loader's schema and a synthetic price history,
and a way to run `tickettrak transform` in-process against it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import structlog
from typer.testing import CliRunner

from tests.integration.dbt.synthetic import History, insert_history


@dataclass
class TransformResult:
    exit_code: int
    output: str


@dataclass
class Warehouse:
    dsn: str
    history: History

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.dsn) as conn:
            return list(conn.execute(sql.encode()).fetchall())

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.encode())


# Every model's content, order-independent, for "incremental == full rebuild".
CHECKSUM_MODELS = (
    "dwh.fct_price_observations",
    "dwh.mart_price_dynamics",
    "dwh.mart_avg_price_by_route",
    "dwh.mart_best_time_to_buy",
    "dwh.mart_best_weekday_to_buy",
    "dwh.mart_optimal_purchase_dates",
    "dwh.int_daily_prices_relativized",
    "dwh.int_route_month_daily_prices",
    "dwh.dim_route",
    "dwh.dim_airport",
    "dwh.dim_airline",
    "dwh.dim_date",
)


def checksums(warehouse: Warehouse) -> dict[str, tuple[object, ...]]:
    sums = {}
    for table in CHECKSUM_MODELS:
        # loaded_at and dbt_batch_at differ between a full and an incremental build by design.
        row = "md5((to_jsonb(t) - 'loaded_at' - 'dbt_batch_at')::text)"
        sums[table] = warehouse.query(
            f"select count(*), md5(string_agg({row}, '' order by {row})) from {table} t"
        )[0]
    return sums


@pytest.fixture
def warehouse(postgres_dsn: str) -> Warehouse:
    """The loader's schema (its own migrations) plus a small generated history."""
    from tickettrak.loader.schema import migrate

    history = History()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        migrate(conn)
        insert_history(conn, history)
    return Warehouse(postgres_dsn, history)


TransformOn = Callable[..., TransformResult]


@pytest.fixture
def transform_on(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> TransformOn:
    """Run `tickettrak transform ARGS` in this process on a database: `transform_on(dsn, *args)`."""
    import typer

    from tickettrak.common.settings import get_settings
    from tickettrak.dbt_runner.cli import transform as transform_command

    # The command alone (a one-command typer app takes its options directly), as `tickettrak
    # transform` would run it.
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(transform_command)

    def run(dsn: str, *args: str) -> TransformResult:
        monkeypatch.setenv("TICKETTRAK_POSTGRES_DSN", dsn)
        monkeypatch.setenv("TICKETTRAK_LOG_FORMAT", "json")
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, list(args))
        finally:
            # The command configured structlog to print to CliRunner's stderr, closed by now:
            # later in-process code (the collector in the end-to-end test) must not log there.
            structlog.reset_defaults()
        return TransformResult(result.exit_code, result.output)

    return run


@pytest.fixture
def transform(transform_on: TransformOn, warehouse: Warehouse) -> Callable[..., TransformResult]:
    """Run `tickettrak transform ARGS` on the synthetic warehouse."""

    def run(*args: str) -> TransformResult:
        return transform_on(warehouse.dsn, *args)

    return run
