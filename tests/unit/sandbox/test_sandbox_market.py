"""The market model: determinism, its ground truth, and the shapes of its prices.

The recovery tests do what the dbt marts will do (relative price = price / the departure date's
eventual minimum, median per days-before bucket and per purchase weekday) on the model's own
output, so a model change that hides its ground truth fails here first.
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta

import pytest

from tickettrak.sandbox.geography import AIRPORTS, CARRIERS, LINES, ROUTES, block_minutes
from tickettrak.sandbox.market import Market, booking_factor, holiday_factor

BUCKETS = [(0, 6), (7, 13), (14, 29), (30, 59), (60, 89), (90, 10_000)]
AS_OF = date(2026, 3, 2)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market()


def test_same_seed_same_offers_other_seed_other_offers(market: Market) -> None:
    depart = AS_OF + timedelta(days=40)
    args = ("MOW", "DXB", depart, depart + timedelta(days=5), AS_OF)
    assert Market(seed=market.seed).offers(*args) == market.offers(*args)
    assert Market(seed=1).offers(*args) != market.offers(*args)


def test_every_route_both_ways_is_served_by_realistic_carriers(market: Market) -> None:
    assert len(ROUTES) == 64 and set(market.routes()) == set(ROUTES)
    assert {line.carrier for line in LINES} == set(CARRIERS)
    mow_dxb = {line.carrier for line in market.route("MOW", "DXB").lines}
    assert {"SU", "S7", "U6", "UT", "DP", "EK", "FZ"} <= mow_dxb
    assert any(line.via for line in market.route("MOW", "DXB").lines)  # one-stop offers exist
    assert {a for line in market.route("MOW", "DXB").lines for a in (line.origin,)} == {"SVO", "DME", "VKO"}
    assert {line.destination for line in market.route("MOW", "DXB").lines} == {"DXB", "DWC"}
    for origin, destination in ROUTES:
        assert market.route(origin, destination).lines, (origin, destination)


def test_local_offsets_and_block_times() -> None:
    offsets = {
        code: AIRPORTS[code].utc_offset_min // 60 for code in ("SVO", "SVX", "UFA", "OVB", "DXB", "KZN")
    }
    assert offsets == {"SVO": 3, "SVX": 5, "UFA": 5, "OVB": 7, "DXB": 4, "KZN": 3}
    assert 315 <= block_minutes("VKO", "DWC") <= 345  # recorded: 320-345 minutes


def test_price_level_matches_the_recordings(market: Market) -> None:
    """MOW->DXB round trip, 5-day stay, December departures some weeks ahead (the recordings: 14k-30k
    RUB over 20 offers): the cheapest 20 sit in 12k-35k RUB."""
    as_of = date(2026, 11, 1)
    for k in (35, 40, 45, 50):
        depart = as_of + timedelta(days=k)
        offers = market.offers("MOW", "DXB", depart, depart + timedelta(days=5), as_of)
        cheapest = [o.price for o in offers[:20]]
        assert len(cheapest) == 20
        assert cheapest[0] >= 11_000 and cheapest[-1] <= 35_000, cheapest


def test_regional_routes_cost_more_than_moscow(market: Market) -> None:
    def mean_top20(origin: str) -> float:
        prices = []
        for k in range(20, 50):
            depart = AS_OF + timedelta(days=k)
            prices += [
                o.price for o in market.offers(origin, "DXB", depart, depart + timedelta(days=7), AS_OF)[:20]
            ]
        return statistics.mean(prices)

    moscow = mean_top20("MOW")
    for city in ("LED", "KZN", "SVX"):
        assert 1.1 * moscow < mean_top20(city) < 2.0 * moscow


def _cheapest(market: Market, origin: str, destination: str, depart: date, as_of: date) -> int | None:
    offers = market.offers(origin, destination, depart, None, as_of)
    return offers[0].price if offers else None


def test_new_year_and_may_holidays_are_dear(market: Market) -> None:
    as_of = date(2026, 10, 1)

    def level(days: list[date]) -> float:
        prices = [_cheapest(market, "MOW", "DXB", d, as_of) for d in days]
        return statistics.median(p for p in prices if p)

    new_year = [date(2026, 12, 28) + timedelta(days=i) for i in range(6)]
    early_december = [date(2026, 12, 1) + timedelta(days=i) for i in range(6)]
    assert level(new_year) > 1.3 * level(early_december)
    assert holiday_factor(date(2027, 5, 1), towards_uae=True) > 1.0
    assert holiday_factor(date(2027, 5, 9), towards_uae=False) > 1.0
    assert holiday_factor(date(2027, 5, 9), towards_uae=True) == 1.0


def test_summer_is_cheaper_than_winter(market: Market) -> None:
    as_of = date(2026, 3, 1)
    summer = [_cheapest(market, "MOW", "DXB", date(2026, 7, 6) + timedelta(days=i), as_of) for i in range(14)]
    winter = [_cheapest(market, "MOW", "DXB", date(2027, 2, 8) + timedelta(days=i), as_of) for i in range(14)]
    assert statistics.median(p for p in summer if p) < 0.85 * statistics.median(p for p in winter if p)


def test_low_cost_carriers_are_cheaper_than_premium_ones(market: Market) -> None:
    depart = AS_OF + timedelta(days=40)
    by_carrier: dict[str, list[int]] = {}
    for k in range(10):
        day = depart + timedelta(days=k)
        for offer in market.offers("MOW", "DXB", day, None, AS_OF):
            by_carrier.setdefault(offer.out.carrier, []).append(offer.price)
    assert (
        statistics.median(by_carrier["DP"])
        < statistics.median(by_carrier["SU"])
        < statistics.median(by_carrier["EK"])
    )


def test_the_last_two_weeks_rise_steeply() -> None:
    window = (30, 59)
    assert booking_factor(45, window) == pytest.approx(1.0, abs=0.005)
    assert booking_factor(0, window) > 1.8 > booking_factor(7, window) > booking_factor(14, window) > 1.0
    assert booking_factor(13, window) - booking_factor(14, window) < booking_factor(
        0, window
    ) - booking_factor(7, window)


def test_cheapest_windows_are_distinct_and_aligned_with_the_mart_buckets(market: Market) -> None:
    windows = {route: market.true_cheapest_window(*route) for route in market.routes()}
    assert set(windows.values()) <= set(BUCKETS)
    assert len(set(windows.values())) >= 3  # 14-29, 30-59, 60-89
    assert windows[("MOW", "DXB")] == (30, 59)
    assert windows[("KZN", "SHJ")] == (14, 29)
    for route, (lo, hi) in windows.items():
        inside = max(booking_factor(d, (lo, hi)) for d in range(lo, hi + 1))
        outside = min(booking_factor(d, (lo, hi)) for d in range(0, 200) if not lo <= d <= hi)
        assert inside + 0.04 < outside, route


def _recover(market: Market, origin: str, destination: str) -> tuple[tuple[int, int], int]:
    """What the marts compute: median relative price per days-before bucket and purchase weekday."""
    by_bucket: dict[tuple[int, int], list[float]] = {b: [] for b in BUCKETS}
    by_weekday: dict[int, list[float]] = {d: [] for d in range(1, 8)}
    for k in range(16):
        depart = date(2027, 2, 1) + timedelta(days=3 * k)
        seen = {}
        for back in range(0, 121):
            day = depart - timedelta(days=back)
            price = _cheapest(market, origin, destination, depart, day)
            if price:
                seen[day] = price
        floor = min(seen.values())
        for day, price in seen.items():
            bucket = next(b for b in BUCKETS if b[0] <= (depart - day).days <= b[1])
            by_bucket[bucket].append(price / floor)
            by_weekday[day.isoweekday()].append(price / floor)
    medians = {b: statistics.median(v) for b, v in by_bucket.items() if v}
    weekday_medians = {d: statistics.median(v) for d, v in by_weekday.items()}
    return min(medians, key=lambda b: medians[b]), min(weekday_medians, key=lambda d: weekday_medians[d])


@pytest.mark.parametrize("route", [("MOW", "DXB"), ("KZN", "SHJ"), ("LED", "AUH"), ("DXB", "MOW")])
def test_the_ground_truth_is_recoverable_from_the_served_prices(
    market: Market, route: tuple[str, str]
) -> None:
    window, weekday = _recover(market, *route)
    assert window == market.true_cheapest_window(*route)
    assert weekday == market.true_best_purchase_weekday(*route)


def test_parameters_document_every_knob(market: Market) -> None:
    params = market.parameters()
    assert params["seed"] == market.seed
    assert params["routes"]["MOW-DXB"]["cheapest_window"] == [30, 59]
    assert {"season", "departure_weekday", "purchase_weekday_pattern", "carriers", "noise_sd"} <= set(params)
