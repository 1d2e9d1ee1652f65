"""The plan for a logical date: expected counts, no past departure, no duplicates, stable."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import date
from typing import Any

import pytest

from tickettrak.collector.config import RoutesConfig, load_routes_config, parse_routes_config
from tickettrak.collector.plan import build_plan
from tickettrak.common.endpoints import ENDPOINTS, request_key

LOGICAL_DATE = date(2026, 1, 30)  # two days before a month ends: the daily part crosses into February

CONFIG: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED"], "destinations": ["DXB"], "both_directions": True},
    "horizon": {"daily_days": 3, "months": 3},
    "trips": {"one_way": True, "round_trip_days": [7, 14]},
    "queries": [
        {
            "endpoint": "prices_for_dates",
            "trips": ["one_way"],
            "departures": ["monthly"],
            "params": {"limit": 1000},
        },
        {"endpoint": "prices_for_dates", "trips": ["round_trip"], "departures": ["daily"]},
        {"endpoint": "grouped_prices", "trips": ["one_way"], "departures": ["monthly"]},
    ],
}


def config(data: dict[str, Any] = CONFIG) -> RoutesConfig:
    return parse_routes_config(copy.deepcopy(data))


def test_counts_for_a_fixed_date_and_config() -> None:
    plan = build_plan(config(), LOGICAL_DATE)
    # 4 directed routes; one-way by month: Jan, Feb, Mar; round trips: Jan 30, 31, Feb 1 x 7 and 14 days.
    assert len(plan) == 4 * 3 + 4 * 3 * 2 + 4 * 3 == 48
    assert Counter(r.endpoint for r in plan) == {"prices_for_dates": 36, "grouped_prices": 12}
    assert Counter(r.trip for r in plan) == {"one_way": 24, "round_trip_7d": 12, "round_trip_14d": 12}
    assert Counter(r.route for r in plan) == {"MOW-DXB": 12, "LED-DXB": 12, "DXB-MOW": 12, "DXB-LED": 12}
    months = sorted({r.departure for r in plan if r.trip == "one_way"})
    assert months == ["2026-01", "2026-02", "2026-03"]
    days = sorted({r.departure for r in plan if r.trip != "one_way"})
    assert days == ["2026-01-30", "2026-01-31", "2026-02-01"]


def test_the_exact_queries_the_api_gets() -> None:
    plan = build_plan(config(), LOGICAL_DATE)
    round_trip = next(r for r in plan if r.trip == "round_trip_14d" and r.departure == "2026-02-01")
    assert round_trip.path == "/aviasales/v3/prices_for_dates"
    assert round_trip.query == {
        "origin": "MOW",
        "destination": "DXB",
        "currency": "rub",
        "market": "ru",
        "departure_at": "2026-02-01",
        "return_at": "2026-02-15",
        "one_way": "false",
    }
    by_month = next(r for r in plan if r.endpoint == "prices_for_dates" and r.departure == "2026-03")
    assert by_month.query["departure_at"] == "2026-03"
    assert by_month.query["one_way"] == "true"
    assert by_month.query["limit"] == "1000"
    assert "return_at" not in by_month.query
    grouped = next(r for r in plan if r.endpoint == "grouped_prices")
    assert grouped.query["group_by"] == "departure_at"


def test_no_past_departure_and_nearest_first() -> None:
    plan = build_plan(config(), LOGICAL_DATE)
    for request in plan:
        if len(request.departure) == 10:  # a day
            assert date.fromisoformat(request.departure) >= LOGICAL_DATE, request
        else:  # a month: never one that has already ended
            assert request.departure >= LOGICAL_DATE.strftime("%Y-%m"), request
        if "return_at" in request.query:
            assert request.query["return_at"] > request.query["departure_at"]
    firsts = [r.first_departure for r in plan]
    assert firsts == sorted(firsts)


def test_keys_are_unique_and_are_the_proxy_key_of_the_query_sent() -> None:
    plan = build_plan(config(), LOGICAL_DATE)
    assert len({r.key for r in plan}) == len(plan)
    for request in plan:
        assert all(isinstance(v, str) for v in request.query.values())
        assert request.path == ENDPOINTS[request.endpoint].path
        assert request.key == request_key(request.path, request.query)
        assert "token" not in request.query


def test_overlapping_families_ask_each_request_once() -> None:
    data = copy.deepcopy(CONFIG)
    # One-way day by day, then by month: its Feb and Mar requests are the first family's.
    data["queries"].append(
        {
            "endpoint": "prices_for_dates",
            "trips": ["one_way"],
            "departures": ["daily", "monthly"],
            "params": {"limit": 1000},
        }
    )
    plan = build_plan(config(data), LOGICAL_DATE)
    assert len(plan) == 48 + 4 * 3  # only the three one-way days are new
    assert len({r.key for r in plan}) == len(plan)


def test_a_family_can_have_its_own_months() -> None:
    data = copy.deepcopy(CONFIG)
    data["queries"][2]["months"] = 1
    plan = build_plan(config(data), LOGICAL_DATE)
    assert sorted({r.departure for r in plan if r.endpoint == "grouped_prices"}) == ["2026-01"]
    assert len(plan) == 48 - 4 * 2


def test_the_same_input_gives_the_same_plan_in_the_same_order() -> None:
    first = build_plan(config(), LOGICAL_DATE)
    second = build_plan(config(), LOGICAL_DATE)
    assert [r.key for r in first] == [r.key for r in second]
    assert build_plan(config(), date(2026, 1, 31)) != first


@pytest.mark.parametrize(
    ("horizon", "expected_months"),
    [
        ({"daily_days": 0, "months": 0}, []),
        ({"daily_days": 0, "months": 1}, ["2026-01"]),
        ({"daily_days": 0, "months": 13}, [f"2026-{m:02d}" for m in range(1, 13)] + ["2027-01"]),
        ({"daily_days": 45, "months": 3}, ["2026-03"]),  # days run to Mar 15: March is still asked by month
        ({"daily_days": 70, "months": 3}, []),  # the daily part already covers the months
    ],
)
def test_the_horizon_daily_then_monthly(horizon: dict[str, int], expected_months: list[str]) -> None:
    data = copy.deepcopy(CONFIG)
    data["horizon"] = horizon
    data["queries"] = [
        {"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["daily", "monthly"]}
    ]
    data["routes"] = {"origins": ["MOW"], "destinations": ["DXB"], "both_directions": False}
    plan = build_plan(config(data), LOGICAL_DATE)
    assert [r.departure for r in plan if len(r.departure) == 7] == expected_months
    assert len([r for r in plan if len(r.departure) == 10]) == horizon["daily_days"]


def test_the_shipped_default_plan() -> None:
    plan = build_plan(load_routes_config(), LOGICAL_DATE)
    assert len(plan) == len({r.key for r in plan})
    routes = {r.route for r in plan}
    assert len(routes) == 36  # 6 Russian cities x 3 UAE cities, both directions
    # A laptop collects ~60 observation days in minutes: the default stays a few hundred per day
    # (routes.yaml explains the number): 36 routes x (4 one-way months + 2 round-trip months).
    assert len(plan) == 216
    assert Counter(r.endpoint for r in plan) == {"prices_for_dates": 144, "grouped_prices": 72}
    assert sorted({r.departure for r in plan if r.trip == "one_way"}) == [
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
    ]
    assert sorted({r.departure for r in plan if r.trip == "round_trip_7d"}) == ["2026-01", "2026-02"]
    assert {r.query["trip_duration"] for r in plan if r.endpoint == "grouped_prices"} == {"7"}
