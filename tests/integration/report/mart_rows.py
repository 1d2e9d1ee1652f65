"""Hand-made mart rows for the report tests: the marts' contract tables (ARCHITECTURE.md and
jobs/dbt_runner/dbt/models/marts/_marts__models.yml) filled with small, deterministic, believable
values, so each number the report shows can be traced back to a row here."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import psycopg

DDL = """
create schema if not exists dwh;
create table dwh.mart_avg_price_by_route (
    route_id text, origin text, destination text, trip_type text, departure_month date, airline text,
    stops text, currency text, avg_price numeric(12,2), median_price numeric(12,2), min_price numeric(12,2),
    max_price numeric(12,2), offers_count bigint, departure_dates_count bigint,
    loaded_at timestamptz);
create table dwh.mart_price_dynamics (
    route_id text, origin text, destination text, trip_type text, departure_date date, observed_date date,
    days_before_departure integer, min_price numeric(12,2), median_price numeric(12,2), offers_count bigint,
    currency text, loaded_at timestamptz);
create table dwh.mart_best_time_to_buy (
    route_id text, origin text, destination text, trip_type text, days_bucket text, bucket_order integer,
    bucket_min_days integer, bucket_max_days integer, median_relative_price numeric(10,4),
    departure_dates_count bigint, observations_count bigint, is_best_bucket boolean);
create table dwh.mart_best_weekday_to_buy (
    route_id text, origin text, destination text, trip_type text, purchase_weekday integer, weekday_name text,
    median_relative_price numeric(10,4), observations_count bigint, departure_dates_count bigint,
    is_best_weekday boolean);
create table dwh.mart_optimal_purchase_dates (
    route_id text, origin text, destination text, trip_type text, departure_date date, as_of_date date,
    latest_observed_date date, days_before_departure integer, days_bucket text,
    latest_min_price numeric(12,2), currency text, price_percentile numeric(6,4), verdict text,
    best_days_bucket text, recommendation text, recommendation_reason text, history_observations bigint);
"""

ROUTES = [("MOW", "DXB", 16000), ("LED", "DXB", 21000), ("DXB", "MOW", 17500), ("KZN", "AUH", 24000)]
TRIPS = {"one_way": Decimal("0.55"), "round_trip": Decimal("1.0")}
AS_OF = date(2025, 12, 20)  # the latest observation day
OBSERVATION_DAYS = [AS_OF - timedelta(days=i) for i in range(24, -1, -1)]
BUCKETS = [
    ("0-6", 1, 0, 6),
    ("7-13", 2, 7, 13),
    ("14-29", 3, 14, 29),
    ("30-59", 4, 30, 59),
    ("60-89", 5, 60, 89),
    ("90+", 6, 90, None),
]
AIRLINES = {"MOW": ["SU", "FZ", "DP"], "LED": ["FZ", "SU"], "DXB": ["EK", "SU", "FZ"], "KZN": ["G9", "U6"]}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def money(value: float) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def curve(days_before: int) -> float:
    """Relative price by days before departure: cheapest ~35-50 days ahead, steep in the last two weeks."""
    if days_before < 14:
        return 1.0 + (14 - days_before) * 0.045
    return 1.0 + abs(days_before - 42) * 0.004


def bucket_of(days: int) -> tuple[str, int]:
    for name, order, low, high in BUCKETS:
        if days >= low and (high is None or days <= high):
            return name, order
    raise AssertionError(days)


def build_rows() -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "mart_avg_price_by_route",
            "mart_price_dynamics",
            "mart_best_time_to_buy",
            "mart_best_weekday_to_buy",
            "mart_optimal_purchase_dates",
        )
    }
    for r_index, (origin, destination, level) in enumerate(ROUTES):
        route_id = f"{origin}-{destination}"
        for trip, factor in TRIPS.items():
            base = float(level * factor)
            key = {"route_id": route_id, "origin": origin, "destination": destination, "trip_type": trip}
            # price dynamics: departures every day of Dec 25 .. Feb 10, observed on the 25 days
            departures = [date(2025, 12, 22) + timedelta(days=i) for i in range(0, 52)]
            for d_index, departure in enumerate(departures):
                weekday_bump = 1.08 if departure.weekday() in (4, 5) else 1.0
                holiday = 1.25 if date(2025, 12, 28) <= departure <= date(2026, 1, 5) else 1.0
                for observed in OBSERVATION_DAYS:
                    days = (departure - observed).days
                    if days < 0 or (d_index + observed.day) % 5 == 0:  # sparse cache: not every day
                        continue
                    price = (
                        base
                        * curve(days)
                        * weekday_bump
                        * holiday
                        * (1 + ((d_index * 7 + observed.day) % 9) / 100)
                    )
                    rows["mart_price_dynamics"].append(
                        {
                            **key,
                            "departure_date": departure,
                            "observed_date": observed,
                            "days_before_departure": days,
                            "min_price": money(price),
                            "median_price": money(price * 1.18),
                            "offers_count": 3 + (d_index + observed.day) % 6,
                            "currency": "rub",
                            "loaded_at": None,
                        }
                    )
            # average price: two departure months x (ALL + airlines) x (all, direct, with_stops)
            for month, month_factor in (
                (date(2025, 12, 1), 1.12),
                (date(2026, 1, 1), 1.0),
                (date(2026, 2, 1), 0.93),
            ):
                for airline in ["ALL", *AIRLINES[origin]]:
                    a_factor = 1.0 if airline == "ALL" else 1 + (AIRLINES[origin].index(airline) - 1) * 0.07
                    for stops, s_factor in (("all", 1.0), ("direct", 1.09), ("with_stops", 0.86)):
                        if airline == "DP" and stops == "with_stops":
                            continue  # a low-cost carrier flies direct only: the row is absent
                        avg = base * month_factor * a_factor * s_factor
                        offers = 40 + r_index * 13 + len(airline) * 3 + len(stops)
                        rows["mart_avg_price_by_route"].append(
                            {
                                **key,
                                "departure_month": month,
                                "airline": airline,
                                "stops": stops,
                                "currency": "rub",
                                "avg_price": money(avg),
                                "median_price": money(avg * 0.97),
                                "min_price": money(avg * 0.78),
                                "max_price": money(avg * 1.41),
                                "offers_count": offers,
                                "departure_dates_count": min(offers, 28),
                                "loaded_at": None,
                            }
                        )
            # best time to buy: the curve's median per bucket (90+ absent for the KZN route: too little data)
            best_order = 4
            for name, order, low, high in BUCKETS:
                if origin == "KZN" and name == "90+":
                    continue
                middle = (low + (high if high is not None else 100)) / 2
                rows["mart_best_time_to_buy"].append(
                    {
                        **key,
                        "days_bucket": name,
                        "bucket_order": order,
                        "bucket_min_days": low,
                        "bucket_max_days": high,
                        "median_relative_price": Decimal(curve(int(middle)) + r_index * 0.003).quantize(
                            Decimal("0.0001")
                        ),
                        "departure_dates_count": 20 + order,
                        "observations_count": 60 + order * 11,
                        "is_best_bucket": order == best_order,
                    }
                )
            for weekday in range(1, 8):
                rows["mart_best_weekday_to_buy"].append(
                    {
                        **key,
                        "purchase_weekday": weekday,
                        "weekday_name": WEEKDAYS[weekday - 1],
                        "median_relative_price": Decimal(
                            1.05 + ((weekday * 3 + r_index) % 7) * 0.012
                        ).quantize(Decimal("0.0001")),
                        "observations_count": 30 + weekday,
                        "departure_dates_count": 12,
                        "is_best_weekday": (weekday * 3 + r_index) % 7 == 0,
                    }
                )
            # upcoming departures from the latest observation day
            latest = [
                r
                for r in rows["mart_price_dynamics"]
                if r["origin"] == origin and r["destination"] == destination and r["trip_type"] == trip
            ]
            last_seen: dict[date, dict[str, Any]] = {}
            for r in latest:
                if r["departure_date"] >= AS_OF and (
                    r["departure_date"] not in last_seen
                    or r["observed_date"] > last_seen[r["departure_date"]]["observed_date"]
                ):
                    last_seen[r["departure_date"]] = r
            for departure, r in sorted(last_seen.items()):
                bucket, order = bucket_of(r["days_before_departure"])
                percentile = Decimal(((departure.toordinal() * 37 + r_index * 11) % 101) / 100).quantize(
                    Decimal("0.0001")
                )
                if departure.day % 11 == 0:
                    percentile = None  # too little history
                verdict = (
                    "typical"
                    if percentile is None
                    else "low"
                    if percentile <= Decimal("0.33")
                    else "high"
                    if percentile >= Decimal("0.67")
                    else "typical"
                )
                recommendation = "buy_now" if verdict == "low" or order <= best_order else "wait"
                rows["mart_optimal_purchase_dates"].append(
                    {
                        **key,
                        "departure_date": departure,
                        "as_of_date": AS_OF,
                        "latest_observed_date": r["observed_date"],
                        "days_before_departure": r["days_before_departure"],
                        "days_bucket": bucket,
                        "latest_min_price": r["min_price"],
                        "currency": "rub",
                        "price_percentile": percentile,
                        "verdict": verdict,
                        "best_days_bucket": "30-59",
                        "recommendation": recommendation,
                        "recommendation_reason": "price is low for this horizon"
                        if verdict == "low"
                        else (
                            "the cheapest booking window has been reached"
                            if recommendation == "buy_now"
                            else "the cheapest booking window is still ahead"
                        ),
                        "history_observations": 4 if percentile is None else 40 + order,
                    }
                )
    return rows


def create_and_fill(dsn: str) -> dict[str, list[dict[str, Any]]]:
    rows = build_rows()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
        for table, items in rows.items():
            columns = list(items[0])
            with conn.cursor().copy(f"copy dwh.{table} ({', '.join(columns)}) from stdin") as copy:
                for item in items:
                    copy.write_row([item[c] for c in columns])
    return rows
