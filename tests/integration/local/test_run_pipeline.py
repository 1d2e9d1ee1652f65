"""`tickettrak run --days 10` end to end on embedded defaults: every layer holds what the layer
before it implies, and a second run over the same days adds nothing.

This is the laptop path exactly as a user meets it: the real CLI as a subprocess, the embedded
PostgreSQL and RAW store under a fresh TICKETTRAK_HOME, the sandbox and the proxy as local
processes started by `run` itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAYS = 10
END = date(2026, 11, 20)  # fixed: the sandbox's market is a function of the date, so counts are too
TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))


def _run(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    env |= {"TICKETTRAK_HOME": str(home), "TICKETTRAK_LOG_FORMAT": "json"}
    return subprocess.run(
        [TICKETTRAK, "run", "--days", str(DAYS), "--end-date", END.isoformat()],
        env=env,
        cwd=home.parent,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _layer_counts(home: Path) -> dict[str, Any]:
    """Row counts of every layer: RAW, aviasales.*, ods, dwh, marts."""
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.settings import load_settings

    settings = load_settings(home=home)
    counts: dict[str, Any] = {"raw": open_raw_database(settings)["raw_exchanges"].count_documents({})}
    with open_postgres(settings) as dsn, psycopg.connect(dsn) as conn:

        def one(sql: str) -> Any:
            row = conn.execute(sql).fetchone()
            assert row is not None
            return row[0]

        for table in (
            "aviasales.request_logs",
            "aviasales.tickets",
            "aviasales.load_errors",
            "ods.stg_aviasales__request_logs",
            "ods.stg_aviasales__tickets",
            "ods.int_price_sightings_deduplicated",
            "dwh.fct_price_observations",
            "dwh.dim_route",
            "dwh.mart_avg_price_by_route",
            "dwh.mart_price_dynamics",
            "dwh.mart_best_time_to_buy",
            "dwh.mart_best_weekday_to_buy",
            "dwh.mart_optimal_purchase_dates",
        ):
            counts[table] = one(f"select count(*) from {table}")
        counts["logical_dates"] = one("select count(distinct logical_date) from aviasales.request_logs")
        counts["observed_dates"] = one("select count(distinct observed_date) from dwh.fct_price_observations")
        counts["offers_in_bodies"] = one("select coalesce(sum(offers_count), 0) from aviasales.request_logs")
        counts["priced_tickets"] = one("select count(*) from aviasales.tickets where price > 0")
        counts["dynamics_keys_in_fact"] = one(
            "select count(*) from (select distinct route_id, trip_type, departure_date, observed_date"
            " from dwh.fct_price_observations) k"
        )
        counts["fact_rows_in_avg_mart"] = one(
            "select coalesce(sum(offers_count), 0) from dwh.mart_avg_price_by_route"
            " where airline = 'ALL' and stops = 'all'"
        )
        counts["routes_in_fact"] = one("select count(distinct route_id) from dwh.fct_price_observations")
    return counts


@pytest.fixture(scope="module")
def first_and_second_run() -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    # Not under pytest's basetemp: as root, the embedded PostgreSQL runs as the `pgserver` user,
    # and any other pytest session starting meanwhile tightens `pytest-of-root` back to 0700 (seen:
    # initdb "Permission denied" while a second session ran). tests/fixtures/postgres.py does the same.
    root = Path(tempfile.mkdtemp(prefix="tt-run-e2e-"))
    try:
        yield _first_and_second_run(root / "home")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _first_and_second_run(home: Path) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    first = _run(home)
    assert first.returncode == 0, f"tickettrak run failed:\n{first.stdout[-3000:]}\n{first.stderr[-3000:]}"
    assert "Report:" in first.stdout
    after_first = _layer_counts(home)
    second = _run(home)
    assert second.returncode == 0, f"second run failed:\n{second.stdout[-3000:]}\n{second.stderr[-3000:]}"
    return home, after_first, _layer_counts(home)


def test_every_layer_is_consistent_with_the_one_before(
    first_and_second_run: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    _, counts, _ = first_and_second_run
    # RAW -> request_logs: one row per exchange, one logical date per observation day.
    assert counts["raw"] > 0
    assert counts["aviasales.request_logs"] == counts["raw"]
    assert counts["logical_dates"] == DAYS
    # request_logs -> tickets: every offer in a body is a ticket or quarantined; identical offers
    # seen twice on one day collapse into one row, so tickets never exceed the offers.
    assert 0 < counts["aviasales.tickets"] <= counts["offers_in_bodies"]
    # ods: staging views rename only; the deduplicated view keeps one row per priced ticket.
    assert counts["ods.stg_aviasales__request_logs"] == counts["aviasales.request_logs"]
    assert counts["ods.stg_aviasales__tickets"] == counts["aviasales.tickets"]
    assert counts["ods.int_price_sightings_deduplicated"] == counts["priced_tickets"]
    # dwh: the fact is the deduplicated sightings, over every observation day.
    assert counts["dwh.fct_price_observations"] == counts["ods.int_price_sightings_deduplicated"]
    assert counts["observed_dates"] == DAYS
    assert counts["dwh.dim_route"] >= counts["routes_in_fact"] > 0
    # marts: dynamics has one row per (route, trip type, departure date, observed date) of the
    # fact; the all-airlines/all-stops rows of the average-price mart count every observation.
    assert counts["dwh.mart_price_dynamics"] == counts["dynamics_keys_in_fact"]
    assert counts["fact_rows_in_avg_mart"] == counts["dwh.fct_price_observations"]
    for mart in (
        "dwh.mart_best_time_to_buy",
        "dwh.mart_best_weekday_to_buy",
        "dwh.mart_optimal_purchase_dates",
    ):
        assert counts[mart] > 0, f"{mart} is empty after {DAYS} observation days"
    assert counts["dwh.mart_optimal_purchase_dates"] > 0


def test_second_run_reuses_the_stored_data_and_adds_nothing(
    first_and_second_run: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    _, first, second = first_and_second_run
    assert second == first


def test_the_report_and_the_logs_are_where_the_summary_says(
    first_and_second_run: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    home, _, _ = first_and_second_run
    report = home / "reports" / "report.html"
    assert report.stat().st_size > 10_000
    html = report.read_text()
    assert "<svg" in html
    # Opens offline: nothing is fetched from outside (links to buy a ticket are fine, loads are not).
    external_load = (
        r"""<(script|img|iframe)[^>]*\ssrc=["']?(https?:)?//"""
        r"""|<link[^>]*href=["']?(https?:)?//|url\(["']?(https?:)?//"""
    )
    assert not re.search(external_load, html)
    runs = sorted((home / "logs").glob("run-*"))
    assert len(runs) == 2
    collect_logs = sorted(runs[0].glob("collect-*.log"))
    assert [p.stem.removeprefix("collect-") for p in collect_logs] == [
        (END - timedelta(days=offset)).isoformat() for offset in range(DAYS - 1, -1, -1)
    ]
