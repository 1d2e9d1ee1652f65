"""Changes to aviasales.tickets that the incremental models may not see (they pick work by
loaded_at, which only the loader sets reliably): rows deleted or truncated, rows inserted or
updated by anyone but the loader. PostgreSQL logs them in aviasales.full_rebuild_requests (the
loader's migration 0002) and `tickettrak transform` rebuilds in full until a full build covered
them. Writes marked as the loader's (AS_THE_LOADER, what `tickettrak load` sets) request nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import psycopg
import pytest

from tests.integration.dbt.conftest import TransformResult, Warehouse, checksums
from tests.integration.dbt.synthetic import AS_THE_LOADER, insert_days_sql, insert_history

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REBUILDING = "rebuilding in full"


def _pending(warehouse: Warehouse) -> list[tuple[object, ...]]:
    return warehouse.query(
        "select operation, rows_affected from aviasales.full_rebuild_requests "
        "where rebuilt_at is null order by id"
    )


def _move_mow_departures_by_hand(day: date) -> str:
    """A fix by hand with a new loaded_at: the day's MOW departures move 35 days (to another month)."""
    return (
        "update aviasales.tickets set departure_date = departure_date + 35, "
        "departure_at = departure_at + interval '35 days', return_date = return_date + 35, "
        "return_at = return_at + interval '35 days', loaded_at = now() "
        f"where observed_date = '{day}' and origin = 'MOW'"
    )


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
    # Fixes by hand: one leaves loaded_at alone; one sets a price to "no price"; one moves a
    # route's departures to another month with a new loaded_at (the month they left would stay).
    warehouse.execute(f"update aviasales.tickets set price = price * 2 where observed_date = '{fixed_day}'")
    warehouse.execute(
        f"update aviasales.tickets set price = 0, loaded_at = now() where observed_date = '{zeroed_day}' "
        "and origin = 'MOW'"
    )
    warehouse.execute(_move_mow_departures_by_hand(last))
    assert [op for op, _ in _pending(warehouse)] == ["DELETE", "DELETE", "UPDATE", "UPDATE", "UPDATE"]

    rebuilt = transform()
    assert rebuilt.exit_code == 0, rebuilt.output
    assert REBUILDING in rebuilt.output and "DELETE" in rebuilt.output and "UPDATE" in rebuilt.output
    assert _pending(warehouse) == []
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


def test_a_hand_fix_that_moves_rows_with_a_new_loaded_at_is_rebuilt_in_full(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    # The review's repro: visible to the fact by its new loaded_at, but the avg-price mart never
    # rebuilt the departure month the rows left, and an incremental run differed from a full one.
    assert transform().exit_code == 0
    warehouse.execute(_move_mow_departures_by_hand(warehouse.history.last_observed))
    moved = transform()
    assert moved.exit_code == 0, moved.output
    assert REBUILDING in moved.output
    after = checksums(warehouse)
    assert transform("--full-refresh").exit_code == 0
    assert checksums(warehouse) == after


def test_the_loaders_writes_request_nothing_and_others_do(warehouse: Warehouse) -> None:
    history = warehouse.history
    # What the loader does, in its marked session: a new day; re-sighted rows with a new loaded_at.
    warehouse.execute(insert_days_sql(history, history.last_observed + timedelta(days=1), 1))
    warehouse.execute(
        AS_THE_LOADER + "update aviasales.tickets set raw_seq = raw_seq + 1000, loaded_at = now() "
        f"where observed_date = '{history.last_observed}'"
    )
    warehouse.execute("delete from aviasales.tickets where false")  # matched nothing
    assert _pending(warehouse) == []
    # The same writes by anyone else: each asks for a full rebuild (an INSERT is not counted).
    warehouse.execute(
        insert_days_sql(history, history.last_observed + timedelta(days=2), 1)[len(AS_THE_LOADER) :]
    )
    warehouse.execute(
        f"update aviasales.tickets set raw_seq = raw_seq + 1 where observed_date = '{history.last_observed}'"
    )
    assert _pending(warehouse) == [("INSERT", None), ("UPDATE", None)]


def test_requests_stay_pending_through_selective_and_failed_runs(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    assert transform().exit_code == 0
    warehouse.execute("truncate aviasales.request_logs cascade")  # as `load --full-refresh` does
    assert _pending(warehouse) == [("TRUNCATE", None)]

    selective = transform("-s", "mart_price_dynamics")
    assert selective.exit_code == 0, selective.output
    assert "a selective run does not rebuild in full" in selective.output
    assert len(_pending(warehouse)) == 1

    # The reload (as the loader) brings a row that breaks a data test: the full build fails and
    # marks nothing.
    with psycopg.connect(warehouse.dsn, autocommit=True) as conn:
        insert_history(conn, warehouse.history)
        conn.execute(
            (
                AS_THE_LOADER
                + "update aviasales.tickets set departure_date = observed_date - 1, loaded_at = now() "
                "where offer_id = (select min(offer_id) from aviasales.tickets)"
            ).encode()
        )
    assert len(_pending(warehouse)) == 1
    failed = transform()
    assert failed.exit_code == 1
    assert REBUILDING in failed.output
    assert len(_pending(warehouse)) == 1

    warehouse.execute(  # fixed by hand: one more request
        "update aviasales.tickets set departure_date = observed_date + 1 where departure_date < observed_date"
    )
    fixed = transform()
    assert fixed.exit_code == 0, fixed.output
    assert REBUILDING in fixed.output
    assert _pending(warehouse) == []
