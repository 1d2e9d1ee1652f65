"""The API's query behaviour, one test per parameter or quirk (in-process app, fixed as-of day)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.sandbox import InProcessSandbox

AS_OF = date(2026, 3, 2)  # a Monday
PRICES = "/aviasales/v3/prices_for_dates"
GROUPED = "/aviasales/v3/grouped_prices"
LATEST = "/aviasales/v3/get_latest_prices"
MATRIX = "/v2/prices/month-matrix"
DEPART = AS_OF + timedelta(days=40)
RETURN = DEPART + timedelta(days=5)


@pytest.fixture
def app(sandbox_app: Callable[..., InProcessSandbox]) -> InProcessSandbox:
    return sandbox_app(as_of=AS_OF)


def data(app: InProcessSandbox, path: str = PRICES, **params: Any) -> Any:
    query = {"origin": "MOW", "destination": "DXB", **params}
    response = app.get(path, query)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def round_trip(app: InProcessSandbox, **params: Any) -> list[dict[str, Any]]:
    query = {"departure_at": DEPART.isoformat(), "return_at": RETURN.isoformat(), "one_way": "false"}
    result: list[dict[str, Any]] = data(app, **{**query, **params})
    return result


def test_limit_and_page_slice_the_same_ordered_list(app: InProcessSandbox) -> None:
    everything = round_trip(app, limit=1000)
    assert len(everything) > 30
    assert round_trip(app, limit=5) == everything[:5]
    assert round_trip(app, limit=5, page=2) == everything[5:10]
    assert round_trip(app) == everything[:30]  # default limit 30
    assert round_trip(app, limit=10, page=1000) == []


@pytest.mark.parametrize("bad", [{"limit": "0"}, {"limit": "1001"}, {"limit": "x"}, {"page": "0"}])
def test_out_of_range_limit_or_page_is_a_400_with_the_error_envelope(
    app: InProcessSandbox, bad: dict[str, str]
) -> None:
    query = {"origin": "MOW", "destination": "DXB", "departure_at": DEPART.isoformat(), **bad}
    response = app.get(PRICES, query)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["data"] is None and body["error"]


def test_sorting_price_is_ascending_and_route_groups_by_route(app: InProcessSandbox) -> None:
    prices = [t["price"] for t in round_trip(app, limit=200)]
    assert prices == sorted(prices)
    by_route = data(app, destination="", departure_at=DEPART.strftime("%Y-%m"), sorting="route", limit=1000)
    routes = [(t["origin"], t["destination"]) for t in by_route]
    assert routes[0] == ("MOW", "DXB")  # the busiest route first
    seen: list[tuple[str, str]] = []
    for route in routes:  # each route is one contiguous block
        if not seen or seen[-1] != route:
            assert route not in seen
            seen.append(route)
    assert len(seen) == 4  # MOW -> DXB, AUH, SHJ, RKT
    dxb = [t["departure_at"] for t in by_route if t["destination"] == "DXB"]
    assert [datetime.fromisoformat(d) for d in dxb] == sorted(datetime.fromisoformat(d) for d in dxb)
    assert app.get(PRICES, {"origin": "MOW", "sorting": "cheap"}).status_code == 400


def test_one_way_true_keeps_only_the_cheapest_per_date_group(app: InProcessSandbox) -> None:
    everything = round_trip(app, limit=1000)
    cheapest = round_trip(app, one_way="true")
    assert len(cheapest) == 1 and cheapest[0] == everything[0]
    # a month of departures, one-way: one ticket per departure day, none with return_at
    month = data(app, departure_at=DEPART.strftime("%Y-%m"), one_way="true", limit=1000)
    days = Counter(t["departure_at"][:10] for t in month)
    assert len(days) >= 20 and set(days.values()) == {1}
    assert all("return_at" not in t and t["duration_back"] == 0 for t in month)


def test_return_at_without_one_way_lists_every_offer_like_the_recordings(app: InProcessSandbox) -> None:
    sent_without = data(app, departure_at=DEPART.isoformat(), return_at=RETURN.isoformat(), limit=1000)
    assert sent_without == round_trip(app, limit=1000)
    assert len(sent_without) > 20


def test_one_way_false_without_return_at_gives_round_trips_of_common_stays(app: InProcessSandbox) -> None:
    tickets = data(app, departure_at=DEPART.isoformat(), one_way="false", limit=1000)
    stays = {(date.fromisoformat(t["return_at"][:10]) - DEPART).days for t in tickets}
    assert stays and stays <= {4, 7, 10, 14}


def test_direct_keeps_only_non_stop_offers(app: InProcessSandbox) -> None:
    everything = round_trip(app, limit=1000)
    assert any(t["transfers"] or t["return_transfers"] for t in everything)
    direct = round_trip(app, direct="true", limit=1000)
    assert direct and all(t["transfers"] == 0 and t["return_transfers"] == 0 for t in direct)
    assert direct == [t for t in everything if t["transfers"] == 0 and t["return_transfers"] == 0]


@pytest.mark.parametrize(("sent", "rate"), [("USD", 80.0), ("usd", 80.0), ("EUR", 92.0), ("aed", 21.8)])
def test_currency_is_echoed_as_sent_and_prices_converted_at_fixed_rates(
    app: InProcessSandbox, sent: str, rate: float
) -> None:
    rub = round_trip(app, limit=5)
    response = app.get(
        PRICES,
        {"origin": "MOW", "destination": "DXB", "departure_at": DEPART.isoformat(),
         "return_at": RETURN.isoformat(), "one_way": "false", "limit": 5, "currency": sent},
    )  # fmt: skip
    body = response.json()
    assert body["currency"] == sent
    assert [t["price"] for t in body["data"]] == [round(t["price"] / rate) for t in rub]
    assert all(f"expected_price_currency={sent.lower()}" in t["link"] for t in body["data"])
    assert app.get(PRICES, {"origin": "MOW", "currency": "XYZ"}).status_code == 400


def test_market_changes_the_cache_and_is_validated(app: InProcessSandbox) -> None:
    ru = round_trip(app, limit=1000)
    assert round_trip(app, limit=1000, market="ru") == ru
    kz = round_trip(app, limit=1000, market="kz")
    assert 0 < len(kz) < len(ru)  # fewer searches from another market
    assert app.get(PRICES, {"origin": "MOW", "market": "r!"}).status_code == 400


def test_departure_at_month_covers_only_that_month_from_the_as_of_day(
    sandbox_app: Callable[..., InProcessSandbox],
) -> None:
    app = sandbox_app(as_of="2026-03-20")
    tickets = data(app, departure_at="2026-03", one_way="true", limit=1000)
    days = {t["departure_at"][:10] for t in tickets}
    assert days and all("2026-03-20" <= d <= "2026-03-31" for d in days)
    assert app.get(PRICES, {"origin": "MOW", "departure_at": "2026-3"}).status_code == 400
    assert app.get(PRICES, {"origin": "MOW", "departure_at": "2026-02-30"}).status_code == 400


def test_past_dates_are_success_with_empty_data(app: InProcessSandbox) -> None:
    past = AS_OF - timedelta(days=1)
    for path, params in (
        (PRICES, {"departure_at": past.isoformat(), "return_at": AS_OF.isoformat()}),
        (PRICES, {"departure_at": "2026-02"}),
        (GROUPED, {"departure_at": "2026-02"}),
        (MATRIX, {"month": "2026-02-01"}),
    ):
        response = app.get(path, {"origin": "MOW", "destination": "DXB", **params})
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True and body["data"] in ([], {}) and body["currency"] == "rub"


def test_the_cache_is_sparse_and_deterministic(app: InProcessSandbox) -> None:
    """Some date pairs have no offers on some observation days, but offers on others."""
    hits: dict[tuple[str, str], list[bool]] = {}
    for route in (("KZN", "SHJ"), ("UFA", "RKT")):
        for k in range(10, 40):
            depart = AS_OF + timedelta(days=k)
            for observed in range(5):
                day = (AS_OF - timedelta(days=observed)).isoformat()
                got = app.get(
                    PRICES,
                    {"origin": route[0], "destination": route[1], "departure_at": depart.isoformat(),
                     "return_at": (depart + timedelta(days=7)).isoformat(), "one_way": "false"},
                    as_of=day,
                ).json()["data"]  # fmt: skip
                hits.setdefault((route[0] + depart.isoformat(), day), []).append(bool(got))
    flags = [v[0] for v in hits.values()]
    assert 0.05 < flags.count(False) / len(flags) < 0.8  # sparse, not empty
    by_date: dict[str, set[bool]] = {}
    for (key, _day), value in hits.items():
        by_date.setdefault(key, set()).update(value)
    assert any(v == {True, False} for v in by_date.values())  # present one day, gone another


def test_search_date_is_in_the_link_and_within_the_last_week(app: InProcessSandbox) -> None:
    tickets = round_trip(app, limit=1000)
    seen = set()
    for ticket in tickets:
        match = re.search(r"[?&]search_date=(\d{2})(\d{2})(\d{4})(&|$)", ticket["link"])
        assert match, ticket["link"]
        searched = date(int(match[3]), int(match[2]), int(match[1]))
        assert AS_OF - timedelta(days=6) <= searched <= AS_OF
        seen.add(searched)
    assert len(seen) >= 2  # a cache, not one snapshot
    assert AS_OF in seen


@pytest.mark.parametrize(
    ("origin", "offset"), [("MOW", "+03:00"), ("KZN", "+03:00"), ("AER", "+03:00"), ("KRR", "+03:00"),
                           ("SVX", "+05:00"), ("UFA", "+05:00"), ("OVB", "+07:00"), ("LED", "+03:00")],
)  # fmt: skip
def test_times_carry_the_local_offset_of_each_airport(
    app: InProcessSandbox, origin: str, offset: str
) -> None:
    month = DEPART.strftime("%Y-%m")
    tickets = data(app, origin=origin, departure_at=month, return_at=month, one_way="true", limit=50)
    assert tickets
    for ticket in tickets:
        assert ticket["departure_at"].endswith(offset)
        assert ticket["return_at"].endswith("+04:00")  # leaving the UAE
        # the link's unix departure time is the same instant as departure_at
        first_leg = re.search(r"\?t=[A-Z0-9]{2}(\d{10})", ticket["link"])
        assert first_leg and int(first_leg[1]) == int(
            datetime.fromisoformat(ticket["departure_at"]).timestamp()
        )
    back = data(app, origin="DXB", destination=origin, departure_at=DEPART.strftime("%Y-%m"), one_way="true")
    assert back and all(t["departure_at"].endswith("+04:00") for t in back)


def test_the_same_outbound_repeats_with_different_returns(app: InProcessSandbox) -> None:
    tickets = round_trip(app, limit=1000)
    returns: dict[tuple[str, str, str], set[str]] = {}
    for t in tickets:
        returns.setdefault((t["airline"], t["flight_number"], t["departure_at"]), set()).add(t["return_at"])
    assert max(len(v) for v in returns.values()) >= 3
    # and, like the recordings, an identical itinerary sold twice at two prices (two agents)
    itineraries = Counter(
        (t["flight_number"], t["departure_at"], t["return_at"], t["duration"]) for t in tickets
    )
    assert max(itineraries.values()) >= 2
    assert len({t["link"] for t in tickets}) == len(tickets)  # the link tells them apart


def test_durations_add_up_for_non_stop_offers_only(app: InProcessSandbox) -> None:
    tickets = round_trip(app, limit=1000)
    non_stop = [t for t in tickets if t["transfers"] == 0 and t["return_transfers"] == 0]
    with_stops = [t for t in tickets if t["transfers"] or t["return_transfers"]]
    assert non_stop and with_stops
    assert all(t["duration"] == t["duration_to"] + t["duration_back"] for t in non_stop)
    assert all(t["duration"] > t["duration_to"] + t["duration_back"] for t in with_stops)
    assert all(300 <= t["duration_to"] <= 360 for t in non_stop)  # ~5.5 h like the recordings


def test_flight_numbers_are_strings_and_keep_leading_zeros(app: InProcessSandbox) -> None:
    tickets = data(app, destination="SHJ", departure_at=DEPART.strftime("%Y-%m"), one_way="true", limit=1000)
    numbers = {t["flight_number"] for t in tickets}
    assert all(isinstance(n, str) for n in numbers)
    assert "099" in numbers  # Pobeda VKO-SHJ


def test_airport_codes_narrow_a_city(app: InProcessSandbox) -> None:
    tickets = data(
        app, origin="VKO", departure_at=DEPART.isoformat(), return_at=RETURN.isoformat(), limit=1000
    )
    assert tickets and {t["origin_airport"] for t in tickets} == {"VKO"}
    assert {t["origin"] for t in tickets} == {"MOW"}


def test_unknown_city_gives_no_offers_and_missing_origin_is_an_error(app: InProcessSandbox) -> None:
    assert data(app, origin="BCN", departure_at=DEPART.isoformat()) == []
    response = app.get(PRICES, {"departure_at": DEPART.isoformat()})
    assert response.status_code == 400 and "origin" in response.json()["error"]


def test_grouped_prices_groups_by_day_or_month_with_the_cheapest(app: InProcessSandbox) -> None:
    month = DEPART.strftime("%Y-%m")
    by_day = data(app, GROUPED, departure_at=month)
    assert len(by_day) >= 20 and all(k.startswith(month) for k in by_day)
    for key, ticket in by_day.items():
        day_tickets = data(app, departure_at=key, one_way="true")
        assert ticket["price"] == day_tickets[0]["price"]
    by_month = data(app, GROUPED, departure_at=month, group_by="month")
    assert list(by_month) == [month]
    assert by_month[month]["price"] == min(t["price"] for t in by_day.values())


def test_month_matrix_lists_cheap_days_of_the_month(app: InProcessSandbox) -> None:
    items = data(app, MATRIX, month=DEPART.strftime("%Y-%m-01"), limit=31)
    assert 10 <= len(items) <= 31
    assert [i["value"] for i in items] == sorted(i["value"] for i in items)
    assert all(i["depart_date"].startswith(DEPART.strftime("%Y-%m")) for i in items)
    round_trips = data(app, MATRIX, month=DEPART.strftime("%Y-%m-01"), trip_duration=1)
    assert all(
        (date.fromisoformat(i["return_date"]) - date.fromisoformat(i["depart_date"])).days == 7
        for i in round_trips
    )


def test_get_latest_prices_periods_and_grouping(app: InProcessSandbox) -> None:
    begin = DEPART.strftime("%Y-%m-01")
    month = data(app, LATEST, period_type="month", beginning_of_period=begin, limit=100)
    assert month and all(i["depart_date"].startswith(begin[:7]) for i in month)
    assert len({i["depart_date"] for i in month}) == len(month)  # group_by=dates: one per day
    directions = data(app, LATEST, destination="", period_type="month", beginning_of_period=begin,
                      group_by="directions")  # fmt: skip
    assert sorted(i["destination"] for i in directions) == ["AUH", "DXB", "RKT", "SHJ"]
    one_way = data(app, LATEST, period_type="day", beginning_of_period=DEPART.isoformat(), one_way="true")
    assert all(i["return_date"] == "" for i in one_way)
    assert app.get(LATEST, {"origin": "MOW", "period_type": "month"}).status_code == 400


def test_unique_keeps_one_ticket_per_route(app: InProcessSandbox) -> None:
    tickets = data(app, destination="", departure_at=DEPART.strftime("%Y-%m"), unique="true", limit=1000)
    routes = [(t["origin"], t["destination"]) for t in tickets]
    assert sorted(routes) == [("MOW", "AUH"), ("MOW", "DXB"), ("MOW", "RKT"), ("MOW", "SHJ")]
