"""End to end: a sandbox price history collected day after day through the real collector and
proxy into RAW, loaded by the loader, transformed by dbt; the marts recover the sandbox's known
cheapest booking window of the main routes (within one bucket) and the average-price mart equals
SQL written independently over aviasales.tickets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest

from tests.integration.collector.conftest import (  # noqa: F401 (the fixture is used by name)
    StackFactory,
    base_env,
    collector_stack,
)
from tests.integration.dbt.conftest import TransformOn
from tests.integration.dbt.test_dbt_build import INDEPENDENT_AVG_PRICE_SQL, MART_AVG_PRICE_SQL

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Three main routes, one per kind of cheapest window in the sandbox (30-59, 60-89, 14-29).
MAIN_ROUTES = (("MOW", "DXB"), ("MOW", "AUH"), ("MOW", "SHJ"))
ROUTES: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW"], "destinations": ["DXB", "AUH", "SHJ"], "both_directions": False},
    "horizon": {"daily_days": 0, "months": 4},
    "trips": {"one_way": True, "round_trip_days": []},
    "queries": [
        {
            "endpoint": "prices_for_dates",
            "trips": ["one_way"],
            "departures": ["monthly"],
            "params": {"limit": 1000},
        },
    ],
    "limits": {"prices_for_dates": 600},
}
# 150 days of history, one collection every 4 days (weekdays rotate): every departure date of
# the last ~2 months was seen from ~120 days out to the day before.
FIRST_DAY = date(2026, 1, 5)
DAYS = [FIRST_DAY + timedelta(days=4 * k) for k in range(38)]
BUCKETS = ["0-6", "7-13", "14-29", "30-59", "60-89", "90+"]
BUCKET_OF_WINDOW = {(14, 29): "14-29", (30, 59): "30-59", (60, 89): "60-89"}


def _collect_history(stack: Any) -> None:
    """One collector run per observation day, through the proxy (the collector's own code)."""
    from tickettrak.collector.plan import build_plan
    from tickettrak.collector.runner import RunOptions, run_collection

    _, config = stack.routes_file(ROUTES)
    for day in DAYS:
        plan = build_plan(config, day)
        summary = asyncio.run(run_collection(config, plan, RunOptions(stack.proxy_url, day, f"e2e-{day}")))
        assert summary.succeeded == len(plan), summary.lines()


def test_marts_recover_the_sandbox_cheapest_window(
    collector_stack: StackFactory,  # noqa: F811
    postgres_dsn: str,
    transform_on: TransformOn,
) -> None:
    stack = collector_stack(proxy_limits={"prices_for_dates": 100_000})
    _collect_history(stack)

    env = {**base_env(stack.home), "TICKETTRAK_POSTGRES_DSN": postgres_dsn}
    load = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "tickettrak"), "load"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert load.returncode == 0, load.stderr[-3000:]
    with psycopg.connect(postgres_dsn) as conn:
        row = conn.execute(
            b"select count(*), count(distinct observed_date) from aviasales.tickets"
        ).fetchone()
    assert row is not None and row[0] > 1000 and row[1] == len(DAYS)

    result = transform_on(postgres_dsn)
    assert result.exit_code == 0, result.output[-5000:]

    with psycopg.connect(postgres_dsn) as conn:
        best = dict(
            ((o, d), bucket)
            for o, d, bucket in conn.execute(
                b"select origin, destination, days_bucket from dwh.mart_best_time_to_buy "
                b"where is_best_bucket and trip_type = 'one_way'"
            ).fetchall()
        )
        mart = conn.execute(MART_AVG_PRICE_SQL.encode()).fetchall()
        independent = conn.execute(INDEPENDENT_AVG_PRICE_SQL.encode()).fetchall()
    for route in MAIN_ROUTES:
        truth = BUCKET_OF_WINDOW[stack.sandbox.market.true_cheapest_window(*route)]
        assert route in best, f"no best bucket for {route}: {best}"
        assert abs(BUCKETS.index(best[route]) - BUCKETS.index(truth)) <= 1, (route, best[route], truth)
    assert mart and mart == independent
