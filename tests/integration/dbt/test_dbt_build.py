"""`tickettrak transform` on the embedded PostgreSQL: dbt build green, marts checked against SQL
written independently over aviasales.tickets, incremental runs equal to a full rebuild."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.dbt.conftest import TransformOn, TransformResult, Warehouse, checksums
from tests.integration.dbt.synthetic import AS_THE_LOADER, insert_days_sql

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The same statistics as dwh.mart_avg_price_by_route, computed straight from the loader's table
# with four plain GROUP BYs (no grouping sets, no dbt model in between).
INDEPENDENT_AVG_PRICE_SQL = """
with t as (
    select origin, destination, trip_type, date_trunc('month', departure_date)::date as month,
           upper(coalesce(airline, 'UNKNOWN')) as airline, departure_date, price,
           case when transfers = 0 and coalesce(return_transfers, 0) = 0 then 'direct'
                else 'with_stops' end as stops
    from aviasales.tickets where currency = 'rub' and price > 0
),
levels as (
    select origin, destination, trip_type, month, 'ALL' as airline, 'all' as stops, price, departure_date
    from t
    union all select origin, destination, trip_type, month, airline, 'all', price, departure_date from t
    union all select origin, destination, trip_type, month, 'ALL', stops, price, departure_date from t
    union all select origin, destination, trip_type, month, airline, stops, price, departure_date from t
)
select origin, destination, trip_type, month, airline, stops,
       round(avg(price), 2), round(percentile_cont(0.5) within group (order by price)::numeric, 2),
       min(price), max(price), count(*), count(distinct departure_date)
from levels group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
"""

MART_AVG_PRICE_SQL = """
select origin, destination, trip_type, departure_month, airline, stops, avg_price, median_price,
       min_price, max_price, offers_count, departure_dates_count
from dwh.mart_avg_price_by_route order by 1, 2, 3, 4, 5, 6
"""


def test_build_is_green_and_avg_price_mart_equals_independent_sql(
    transform: Callable[..., TransformResult], warehouse: Warehouse, tt_env: Path
) -> None:
    result = transform("--docs")
    assert result.exit_code == 0, result.output
    assert "dbt build:" in result.output and "error" not in result.output.split("dbt build:")[-1]
    assert (tt_env / "dbt" / "target" / "catalog.json").is_file()  # dbt docs generate ran

    mart = warehouse.query(MART_AVG_PRICE_SQL)
    independent = warehouse.query(INDEPENDENT_AVG_PRICE_SQL)
    assert len(mart) > 30
    assert mart == independent

    # Schemas are exactly ods and dwh (no target-prefixed schemas).
    schemas = {str(row[0]) for row in warehouse.query("select table_schema from information_schema.tables")}
    assert {"ods", "dwh"} <= schemas
    assert not {s for s in schemas if s.endswith(("_ods", "_dwh"))}

    # The synthetic market is cheapest 35 days out: every route recovers the 30-59 bucket.
    best = warehouse.query(
        "select origin, destination, trip_type, days_bucket from dwh.mart_best_time_to_buy "
        "where is_best_bucket order by 1, 2, 3"
    )
    assert len(best) == warehouse.history.routes * 2
    assert {row[3] for row in best} == {"30-59"}

    # Price dynamics: the daily minimum per departure date, straight from the tickets.
    dynamics_mismatch = warehouse.query(
        """
        select count(*) from (
            select origin, destination, trip_type, departure_date, observed_date, min(price) as p
            from aviasales.tickets group by 1, 2, 3, 4, 5
        ) t
        full join dwh.mart_price_dynamics d
            using (origin, destination, trip_type, departure_date, observed_date)
        where d.min_price is distinct from t.p
        """
    )
    assert dynamics_mismatch == [(0,)]


@pytest.mark.parametrize(
    "change",
    [
        "new_day",  # the daily case the bench measures
        "new_day_and_recollected_old_day",
        "recollected_last_day_drops_a_departure_date",
        # the same, after a run that stopped between mart_price_dynamics and int_daily (a failed
        # test skips the children; an Airflow retry): the next run must still drop the stale rows
        "recollected_last_day_drops_a_departure_date_after_a_partial_run",
    ],
)
def test_incremental_run_equals_full_rebuild(
    transform: Callable[..., TransformResult], warehouse: Warehouse, change: str
) -> None:
    assert transform().exit_code == 0
    history = warehouse.history
    days = history.observation_days
    if change.startswith("new_day"):
        warehouse.execute(insert_days_sql(history, history.last_observed + timedelta(days=1), 1))
        days += 1
    if change == "new_day_and_recollected_old_day":
        # A re-collected old day: its tickets get a new load time and new prices (written as the
        # loader writes: no full-rebuild request, so this stays an incremental run).
        warehouse.execute(
            AS_THE_LOADER + f"update aviasales.tickets set price = price + 111, loaded_at = now() "
            f"where observed_date = '{history.first_observed + timedelta(days=2)}'"
        )
    if change.startswith("recollected_last_day_drops_a_departure_date"):
        # The farthest departure date was seen on the last day only: re-collected without it, it
        # has no observation left (the incremental models must drop it, not keep stale rows).
        last, farthest = history.last_observed, history.last_observed + timedelta(days=history.horizon_days)
        warehouse.execute(
            f"delete from aviasales.tickets where observed_date = '{last}' and departure_date = '{farthest}'"
        )
        warehouse.execute(
            AS_THE_LOADER + f"update aviasales.tickets set price = price + 7, loaded_at = now() "
            f"where observed_date = '{last}'"
        )
        warehouse.execute(
            f"update aviasales.request_logs set loaded_at = now() where logical_date = '{last}'"
        )
        # The DELETE is logged and would make `transform` rebuild in full (test_rebuild_requests.py);
        # marked covered here, so this case checks the incremental models' own handling.
        warehouse.execute("update aviasales.full_rebuild_requests set rebuilt_at = now()")

    if change.endswith("_after_a_partial_run"):
        partial = transform("-s", "+mart_price_dynamics")
        assert partial.exit_code == 0, partial.output
    incremental = transform()
    assert incremental.exit_code == 0, incremental.output
    after_incremental = checksums(warehouse)
    observed = warehouse.query("select count(distinct observed_date) from dwh.fct_price_observations")
    assert observed == [(days,)]
    if change.startswith("recollected_last_day_drops_a_departure_date"):
        assert warehouse.query(
            f"select count(*) from dwh.int_daily_prices_relativized where departure_date = '{farthest}'"
        ) == [(0,)]

    full = transform("--full-refresh")
    assert full.exit_code == 0, full.output
    assert checksums(warehouse) == after_incremental


def test_failing_data_test_exits_non_zero_with_dbt_message(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    # An observation after departure breaks the fact's invariant (the loader accepts it).
    warehouse.execute(
        "update aviasales.tickets set departure_date = observed_date - 1 "
        "where offer_id = (select min(offer_id) from aviasales.tickets)"
    )
    result = transform()
    assert result.exit_code == 1
    last_line = result.output.strip().splitlines()[-1]
    assert last_line.startswith("error: dbt build failed:")
    assert "fct_observed_not_after_departure" in result.output


def test_null_in_a_non_key_column_fails_the_combined_not_null_test(
    transform: Callable[..., TransformResult], warehouse: Warehouse
) -> None:
    # Non-key columns share one `not_null_columns` test per model: it must still fail on one null.
    assert transform().exit_code == 0
    warehouse.execute(
        "update dwh.mart_price_dynamics set median_price = null "
        "where observed_date = (select min(observed_date) from dwh.mart_price_dynamics)"
    )
    # Nothing new to load: the mart keeps its rows, and the latest batch (the tests' scope) is
    # still the one holding the null.
    result = transform("-s", "mart_price_dynamics")
    assert result.exit_code == 1, result.output
    assert "not_null_columns_mart_price_dynamics" in result.output


def test_source_freshness(transform: Callable[..., TransformResult], warehouse: Warehouse) -> None:
    fresh = transform("--freshness")
    assert fresh.exit_code == 0, fresh.output
    assert "dbt source freshness: 2 pass" in fresh.output

    warehouse.execute("update aviasales.tickets set loaded_at = now() - interval '4 days'")
    warehouse.execute("update aviasales.request_logs set loaded_at = now() - interval '4 days'")
    stale = transform("--freshness")
    assert stale.exit_code == 1
    assert stale.output.strip().splitlines()[-1].startswith("error: dbt source freshness failed:")


def test_transform_before_any_load_says_so(transform_on: TransformOn, postgres_dsn: str) -> None:
    result = transform_on(postgres_dsn)
    assert result.exit_code == 1
    last_line = result.output.strip().splitlines()[-1]
    assert "aviasales.request_logs, aviasales.tickets not found" in last_line
    assert "tickettrak load" in last_line


def test_a_selection_that_matches_nothing_is_an_error(transform: Callable[..., TransformResult]) -> None:
    # dbt itself calls it "nothing to do" and succeeds: a typo in -s would build nothing, silently.
    result = transform("-s", "mart_price_dynamicz")
    assert result.exit_code == 2, result.output
    assert "--select 'mart_price_dynamicz' matched no dbt node" in result.output
