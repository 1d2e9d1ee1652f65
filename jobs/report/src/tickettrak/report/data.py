"""What the report shows, read from the marts in a handful of queries.

The marts can be large (`mart_price_dynamics` has a row per route, departure date and observation
day), so the HTML reads only what it draws: the price histories of a few chosen departure dates
of the focus routes, and the other marts whole (they are small: routes x months / buckets /
weekdays / upcoming dates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql

from tickettrak.report.marts import MARTS, SCHEMA, Row, route_filter, select_rows

Route = tuple[str, str]


@dataclass
class Coverage:
    """How much data is behind the report (for the captions)."""

    routes: int = 0
    observation_days: int = 0
    first_observed: date | None = None
    last_observed: date | None = None
    departure_dates: int = 0
    observations: int = 0  # price observations (offers seen on an observation day)


@dataclass
class ReportData:
    currency: str
    coverage: Coverage
    focus_routes: list[Route]
    avg_price: list[Row]
    best_time: list[Row]
    best_weekday: list[Row]
    upcoming: list[Row]
    dynamics: list[Row]  # the chosen departure dates of the focus routes only
    chosen_dates: dict[tuple[str, str, str], list[date]] = field(default_factory=dict)
    upcoming_days: int = 30
    route_filter: list[Route] = field(default_factory=list)


def parse_route(text: str) -> Route:
    """`MOW-DXB` (or `MOW->DXB`, `mow dxb`) -> ("MOW", "DXB"); ValueError otherwise."""
    parts = [p for p in text.replace("->", "-").replace(" ", "-").upper().split("-") if p]
    if len(parts) != 2 or not all(p.isalpha() and len(p) == 3 for p in parts):
        raise ValueError(f"--route must look like MOW-DXB (two IATA codes), got {text!r}")
    return parts[0], parts[1]


def _all(
    conn: psycopg.Connection[Row], name: str, columns: dict[str, tuple[str, ...]], routes: Sequence[Route]
) -> list[Row]:
    return list(select_rows(conn, MARTS[name], columns[name], routes))


def coverage(conn: psycopg.Connection[Row], routes: Sequence[Route]) -> Coverage:
    where, params = route_filter(routes)
    row = conn.execute(
        sql.SQL(
            "select count(distinct (origin, destination)) as routes,"
            " count(distinct observed_date) as observation_days,"
            " min(observed_date) as first_observed, max(observed_date) as last_observed,"
            " count(distinct departure_date) as departure_dates,"
            " coalesce(sum(offers_count), 0) as observations"
            " from {table} where {where}"
        ).format(table=sql.Identifier(SCHEMA, "mart_price_dynamics"), where=where),
        params,
    ).fetchone()
    assert row is not None  # an aggregate always returns a row
    return Coverage(**row)


def pick_focus_routes(avg_rows: Sequence[Row], count: int) -> list[Route]:
    """The routes with the most price observations (airline ALL, stops all)."""
    totals: dict[Route, int] = {}
    for row in avg_rows:
        if row["airline"] == "ALL" and row["stops"] == "all":
            route = (row["origin"], row["destination"])
            totals[route] = totals.get(route, 0) + int(row["offers_count"])
    return sorted(totals, key=lambda r: (-totals[r], r))[:count]


def chosen_departure_dates(
    conn: psycopg.Connection[Row], routes: Sequence[Route], per_route: int
) -> dict[tuple[str, str, str], list[date]]:
    """Per focus route and trip type, `per_route` departure dates spread over the calendar (the
    nearest, the farthest and evenly between) among the well-observed ones (observed on at least
    60% of the days the best-observed date was): near dates show the last-minute climb, far ones
    the early prices."""
    if not routes:
        return {}
    where, params = route_filter(routes)
    rows = conn.execute(
        sql.SQL(
            "select origin, destination, trip_type, departure_date, count(*) as days_seen from {table}"
            " where {where} group by origin, destination, trip_type, departure_date"
            " order by origin, destination, trip_type, departure_date"
        ).format(table=sql.Identifier(SCHEMA, "mart_price_dynamics"), where=where),
        params,
    ).fetchall()
    seen: dict[tuple[str, str, str], list[tuple[date, int]]] = {}
    for row in rows:
        key = (row["origin"], row["destination"], row["trip_type"])
        seen.setdefault(key, []).append((row["departure_date"], int(row["days_seen"])))
    chosen: dict[tuple[str, str, str], list[date]] = {}
    for key, dates in seen.items():
        most = max(n for _, n in dates)
        candidates = [d for d, n in dates if n >= 0.6 * most]
        if len(candidates) <= per_route:
            chosen[key] = candidates
            continue
        step = (len(candidates) - 1) / max(1, per_route - 1)
        chosen[key] = sorted({candidates[round(i * step)] for i in range(per_route)})
    return chosen


def load_report_data(
    conn: psycopg.Connection[Row],
    columns: dict[str, tuple[str, ...]],
    routes: Sequence[Route] = (),
    focus_count: int = 4,
    dates_per_route: int = 3,
    upcoming_days: int = 30,
) -> ReportData:
    avg_price = _all(conn, "mart_avg_price_by_route", columns, routes)
    focus = list(routes) or pick_focus_routes(avg_price, focus_count)
    chosen = chosen_departure_dates(conn, focus, dates_per_route)
    dynamics: list[Row] = []
    for (origin, destination, trip_type), dates in chosen.items():
        dynamics += select_rows(
            conn,
            MARTS["mart_price_dynamics"],
            columns["mart_price_dynamics"],
            [(origin, destination)],
            sql.SQL("trip_type = %s and departure_date = any(%s)"),
            [trip_type, dates],
        )
    upcoming = _all(conn, "mart_optimal_purchase_dates", columns, routes)
    currencies = {str(r["currency"]).upper() for r in [*avg_price, *upcoming] if r.get("currency")}
    return ReportData(
        currency=", ".join(sorted(currencies)) or "RUB",
        coverage=coverage(conn, routes),
        focus_routes=focus,
        avg_price=avg_price,
        best_time=_all(conn, "mart_best_time_to_buy", columns, routes),
        best_weekday=_all(conn, "mart_best_weekday_to_buy", columns, routes),
        upcoming=upcoming,
        dynamics=dynamics,
        chosen_dates=chosen,
        upcoming_days=upcoming_days,
        route_filter=list(routes),
    )
