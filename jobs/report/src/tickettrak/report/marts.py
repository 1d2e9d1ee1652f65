"""The dbt marts the report reads: their contract (ARCHITECTURE.md, "the marts are a contract")
and how they are read from PostgreSQL.

The report asks only for the contract's columns, by name, so a mart may gain columns without
breaking it; a missing mart or column stops the report with one line saying which.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

SCHEMA = "dwh"
ROUTE_KEY = ("origin", "destination", "trip_type")


@dataclass(frozen=True)
class Mart:
    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]  # beyond the key
    optional: tuple[str, ...] = ()  # documented in the dbt yml, used when present

    @property
    def all_columns(self) -> tuple[str, ...]:
        return self.key + self.columns


MARTS: dict[str, Mart] = {
    m.name: m
    for m in (
        Mart(
            "mart_avg_price_by_route",
            (*ROUTE_KEY, "departure_month", "airline", "stops"),
            (
                "currency",
                "avg_price",
                "median_price",
                "min_price",
                "max_price",
                "offers_count",
                "departure_dates_count",
            ),
        ),
        Mart(
            "mart_price_dynamics",
            (*ROUTE_KEY, "departure_date", "observed_date"),
            ("days_before_departure", "min_price", "median_price", "offers_count", "currency"),
        ),
        Mart(
            "mart_best_time_to_buy",
            (*ROUTE_KEY, "days_bucket"),
            (
                "bucket_order",
                "bucket_min_days",
                "bucket_max_days",
                "median_relative_price",
                "departure_dates_count",
                "observations_count",
                "is_best_bucket",
            ),
        ),
        Mart(
            "mart_best_weekday_to_buy",
            (*ROUTE_KEY, "purchase_weekday"),
            (
                "weekday_name",
                "median_relative_price",
                "observations_count",
                "departure_dates_count",
                "is_best_weekday",
            ),
        ),
        Mart(
            "mart_optimal_purchase_dates",
            (*ROUTE_KEY, "departure_date"),
            (
                "latest_observed_date",
                "days_before_departure",
                "latest_min_price",
                "currency",
                "price_percentile",
                "verdict",
                "recommendation",
                "history_observations",
            ),
            optional=("as_of_date", "recommendation_reason"),
        ),
    )
}

Row = dict[str, Any]


class MartError(RuntimeError):
    """A mart is missing or lacks a contract column; the message says which and what to run."""


def connect(dsn: str) -> psycopg.Connection[Row]:
    conn: psycopg.Connection[Row] = psycopg.connect(dsn, row_factory=dict_row, autocommit=True)
    return conn


def existing_columns(conn: psycopg.Connection[Row]) -> dict[str, set[str]]:
    """Columns of every relation in the marts' schema."""
    rows = conn.execute(
        "select table_name, column_name from information_schema.columns where table_schema = %s",
        (SCHEMA,),
    ).fetchall()
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["table_name"], set()).add(row["column_name"])
    return found


def check_contract(conn: psycopg.Connection[Row]) -> dict[str, tuple[str, ...]]:
    """The columns to read per mart (contract + the optional ones present), or `MartError`."""
    found = existing_columns(conn)
    selected: dict[str, tuple[str, ...]] = {}
    for mart in MARTS.values():
        columns = found.get(mart.name)
        if columns is None:
            raise MartError(
                f"{SCHEMA}.{mart.name} does not exist: run `tickettrak transform` (dbt) before the report"
            )
        missing = [c for c in mart.all_columns if c not in columns]
        if missing:
            raise MartError(f"{SCHEMA}.{mart.name} lacks contract column(s) {', '.join(missing)}")
        selected[mart.name] = mart.all_columns + tuple(c for c in mart.optional if c in columns)
    return selected


def route_filter(routes: Sequence[tuple[str, str]]) -> tuple[sql.Composable, list[str]]:
    if not routes:
        return sql.SQL("true"), []
    clause = sql.SQL(" or ").join(sql.SQL("(origin = %s and destination = %s)") for _ in routes)
    return sql.SQL("({})").format(clause), [code for route in routes for code in route]


def select_rows(
    conn: psycopg.Connection[Row],
    mart: Mart,
    columns: Sequence[str],
    routes: Sequence[tuple[str, str]] = (),
    where: sql.Composable | None = None,
    params: Sequence[Any] = (),
) -> Iterator[Row]:
    """Rows of a mart in key order, streamed (a server-side cursor: marts can be large)."""
    route_clause, route_params = route_filter(routes)
    query = sql.SQL("select {cols} from {table} where {routes} and {extra} order by {order}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        table=sql.Identifier(SCHEMA, mart.name),
        routes=route_clause,
        extra=where if where is not None else sql.SQL("true"),
        order=sql.SQL(", ").join(sql.Identifier(c) for c in mart.key),
    )
    with conn.transaction(), conn.cursor(name=f"read_{mart.name}", row_factory=dict_row) as cursor:
        cursor.itersize = 5000
        cursor.execute(query, [*route_params, *params])
        yield from cursor
