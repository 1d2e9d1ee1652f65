"""Changes to aviasales.tickets that the incremental models cannot see (they pick work by the
surviving rows' loaded_at): rows deleted or truncated, changed by hand without a new loaded_at,
set to a price of 0. PostgreSQL logs them in aviasales.full_rebuild_requests (the loader's
migration 0002) and `tickettrak transform` rebuilds in full until a full build covered them."""

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
    rows = warehouse.query("select count(*) from aviasales.full_rebuild_requests where rebuilt_at is null")
    return int(str(rows[0][0]))


def test_unseen_changes_make_the_next_transform_rebuild_in_full(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    first = transform()
    assert first.exit_code == 0, first.output
    assert REBUILDING not in first.output
    history = warehouse.history
    gone_day, fixed_day, zeroed_day = (history.first_observed + timedelta(days=n) for n in (3, 5, 7))
    last = history.last_observed
    # A whole observation day disappears (no surviving row of it is re-loaded), and the last day
    # loses its farthest departure month (a month of mart_avg_price_by_route seen only that day).
    warehouse.execute(f"delete from aviasales.tickets where observed_date = '{gone_day}'")
    warehouse.execute(
        f"delete from aviasales.tickets where observed_date = '{last}' "
        f"and departure_date >= date_trunc('month', '{last}'::date + {history.horizon_days})"
    )
    # A fix by hand that leaves loaded_at alone; a re-load that turns prices into "no price".
    warehouse.execute(f"update aviasales.tickets set price = price * 2 where observed_date = '{fixed_day}'")
    warehouse.execute(
        f"update aviasales.tickets set price = 0, loaded_at = now() where observed_date = '{zeroed_day}' "
        "and origin = 'MOW'"
    )
    assert _pending(warehouse) == 4

    rebuilt = transform()
    assert rebuilt.exit_code == 0, rebuilt.output
    assert REBUILDING in rebuilt.output and "DELETE" in rebuilt.output and "UPDATE" in rebuilt.output
    assert _pending(warehouse) == 0
    for table in ("dwh.fct_price_observations", "dwh.mart_price_dynamics"):
        assert warehouse.query(f"select count(*) from {table} where observed_date = '{gone_day}'") == [(0,)]
        assert warehouse.query(
            f"select count(*) from {table} where observed_date = '{zeroed_day}' and origin = 'MOW'"
        ) == [(0,)]
    assert warehouse.query(
        f"select sum(price) from aviasales.tickets where observed_date = '{fixed_day}'"
    ) == warehouse.query(
        f"select sum(price) from dwh.fct_price_observations where observed_date = '{fixed_day}'"
    )
    after_rebuild = checksums(warehouse)

    again = transform()  # nothing pending: back to incremental, same content
    assert again.exit_code == 0, again.output
    assert REBUILDING not in again.output
    assert checksums(warehouse) == after_rebuild
    full = transform("--full-refresh")
    assert full.exit_code == 0, full.output
    assert checksums(warehouse) == after_rebuild


def test_changes_incremental_runs_see_request_nothing(warehouse: Warehouse) -> None:
    # What the loader does: insert; re-sight a row (same key and price) with a new loaded_at.
    warehouse.execute(
        "update aviasales.tickets set raw_seq = raw_seq + 1000, loaded_at = now() "
        f"where observed_date = '{warehouse.history.last_observed}'"
    )
    warehouse.execute("delete from aviasales.tickets where false")  # matched nothing
    warehouse.execute("update aviasales.tickets set price = 1 where false")
    assert _pending(warehouse) == 0


def test_requests_stay_pending_through_selective_and_failed_runs(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    assert transform().exit_code == 0
    warehouse.execute("truncate aviasales.request_logs cascade")  # as `load --full-refresh` does
    assert warehouse.query(
        "select table_name, operation, rows_affected from aviasales.full_rebuild_requests"
    ) == [("tickets", "TRUNCATE", None)]

    selective = transform("-s", "mart_price_dynamics")
    assert selective.exit_code == 0, selective.output
    assert "a selective run does not rebuild in full" in selective.output
    assert _pending(warehouse) == 1

    # The reload brings a row that breaks a data test: the full build fails and nothing is marked.
    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        insert_history(conn, warehouse.history)
        conn.execute(
            b"update aviasales.tickets set departure_date = observed_date - 1, loaded_at = now() "
            b"where offer_id = (select min(offer_id) from aviasales.tickets)"
        )
    failed = transform()
    assert failed.exit_code == 1
    assert REBUILDING in failed.output
    assert _pending(warehouse) == 1

    warehouse.execute(
        "update aviasales.tickets set departure_date = observed_date + 1, loaded_at = now() "
        "where departure_date < observed_date"
    )
    fixed = transform()
    assert fixed.exit_code == 0, fixed.output
    assert REBUILDING in fixed.output
    assert _pending(warehouse) == 0
