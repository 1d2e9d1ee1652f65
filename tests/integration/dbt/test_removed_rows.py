"""Rows removed from aviasales.tickets (a DELETE, `load --full-refresh`'s TRUNCATE) are invisible
to the incremental models, which pick work by the surviving rows' loaded_at: `tickettrak transform`
reads the loader's aviasales.removed_rows_log and rebuilds in full until a full build covered them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest

from tests.integration.dbt.conftest import TransformResult, Warehouse, checksums
from tests.integration.dbt.synthetic import insert_history

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REBUILDING = "rebuilding in full"


def _pending(warehouse: Warehouse) -> int:
    rows = warehouse.query("select count(*) from aviasales.removed_rows_log where rebuilt_at is null")
    return int(str(rows[0][0]))


def test_removed_rows_make_the_next_transform_rebuild_in_full(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    first = transform()
    assert first.exit_code == 0, first.output
    assert REBUILDING not in first.output
    history = warehouse.history
    gone_day = history.first_observed + timedelta(days=3)
    last = history.last_observed
    # A whole observation day disappears (no surviving row of it is re-loaded), and the last day
    # loses its farthest departure month (a month of mart_avg_price_by_route seen only that day).
    warehouse.execute(f"delete from aviasales.tickets where observed_date = '{gone_day}'")
    warehouse.execute(
        f"delete from aviasales.tickets where observed_date = '{last}' "
        f"and departure_date >= date_trunc('month', '{last}'::date + {history.horizon_days})"
    )
    assert _pending(warehouse) == 2

    rebuilt = transform()
    assert rebuilt.exit_code == 0, rebuilt.output
    assert REBUILDING in rebuilt.output and "DELETE" in rebuilt.output
    assert _pending(warehouse) == 0
    assert warehouse.query(
        f"select count(*) from dwh.fct_price_observations where observed_date = '{gone_day}'"
    ) == [(0,)]
    assert warehouse.query(
        f"select count(*) from dwh.mart_price_dynamics where observed_date = '{gone_day}'"
    ) == [(0,)]
    after_rebuild = checksums(warehouse)

    again = transform()  # nothing pending: back to incremental, same content
    assert again.exit_code == 0, again.output
    assert REBUILDING not in again.output
    assert checksums(warehouse) == after_rebuild
    full = transform("--full-refresh")
    assert full.exit_code == 0, full.output
    assert checksums(warehouse) == after_rebuild


def test_removals_stay_pending_through_selective_and_failed_runs(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    assert transform().exit_code == 0
    warehouse.execute("truncate aviasales.request_logs cascade")  # as `load --full-refresh` does
    warehouse.execute("delete from aviasales.tickets where false")  # matched nothing: not logged
    assert warehouse.query("select table_name, operation, rows_removed from aviasales.removed_rows_log") == [
        ("tickets", "TRUNCATE", None)
    ]

    selective = transform("-s", "mart_price_dynamics")
    assert selective.exit_code == 0, selective.output
    assert "a selective run does not rebuild them" in selective.output
    assert _pending(warehouse) == 1

    # The reload brings a row that breaks a data test: the full build fails and nothing is marked.

    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        insert_history(conn, warehouse.history)
    warehouse.execute(
        "update aviasales.tickets set departure_date = observed_date - 1 "
        "where offer_id = (select min(offer_id) from aviasales.tickets)"
    )
    failed = transform()
    assert failed.exit_code == 1
    assert REBUILDING in failed.output
    assert _pending(warehouse) == 1

    warehouse.execute(
        "update aviasales.tickets set departure_date = observed_date + 1 where departure_date < observed_date"
    )
    fixed = transform()
    assert fixed.exit_code == 0, fixed.output
    assert REBUILDING in fixed.output
    assert _pending(warehouse) == 0
