"""The request plan for one logical date: every request the collection sends, in a fixed order.

Deterministic (same config + same logical date = same list, same order), no departure before the
logical date, no two requests with the same identity (`endpoints.request_key`), and every query
value a string exactly as sent, so the key the collector computes is the key the proxy stores.

How each endpoint is asked (the Data API's own parameters; L = the round trip's length in days):

| endpoint | trip / departures | query | offers per answer |
|---|---|---|---|
| prices_for_dates | one_way / daily | departure_at=YYYY-MM-DD, one_way=true | the day's cheapest |
| prices_for_dates | one_way / monthly | departure_at=YYYY-MM, one_way=true | each day's cheapest |
| prices_for_dates | round_trip / daily | departure_at=D, return_at=D+L, one_way=false | every offer |
| grouped_prices | one_way / monthly | departure_at=YYYY-MM, group_by=departure_at | each day's cheapest |
| grouped_prices | round_trip / monthly | the same + trip_duration=L | each day's cheapest |
| get_latest_prices | one_way / monthly | period_type=month, beginning_of_period=YYYY-MM-01, | per day |
|                   |                   | group_by=dates, one_way=true | |
| get_latest_prices | round_trip / monthly | the same, one_way=false, trip_duration=L/7 (weeks) | per day |
| month_matrix | one_way / monthly | month=YYYY-MM-01, one_way=true | per day and stops |
| month_matrix | round_trip / monthly | the same, one_way=false, trip_duration=L/7 (weeks) | per day, stops |

A round trip by month with prices_for_dates cannot fix the stay (return_at would be a month too),
so it is not offered; the v2-style endpoints count stays in whole weeks (1-4).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from tickettrak.collector.config import Query, RoutesConfig
from tickettrak.common.endpoints import ENDPOINTS, request_key

SUPPORTED: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("prices_for_dates", "one_way", "daily"),
        ("prices_for_dates", "one_way", "monthly"),
        ("prices_for_dates", "round_trip", "daily"),
        ("grouped_prices", "one_way", "monthly"),
        ("grouped_prices", "round_trip", "monthly"),
        ("get_latest_prices", "one_way", "monthly"),
        ("get_latest_prices", "round_trip", "monthly"),
        ("month_matrix", "one_way", "monthly"),
        ("month_matrix", "round_trip", "monthly"),
    }
)
# Endpoints that count a round trip's stay in whole weeks (trip_duration=1..4).
STAY_IN_WEEKS = frozenset({"get_latest_prices", "month_matrix"})


@dataclass(frozen=True)
class PlannedRequest:
    endpoint: str  # registry name, e.g. "prices_for_dates"
    path: str  # the Data API path the proxy serves
    query: dict[str, str]
    route: str  # "MOW-DXB"
    trip: str  # "one_way" or "round_trip_7d"
    departure: str  # "2026-12-05" (a day) or "2026-12" (a month)
    key: str  # endpoints.request_key(path, query)

    @property
    def first_departure(self) -> date:
        """The earliest departure date the request asks about (a month: its first day)."""
        return date.fromisoformat(self.departure if len(self.departure) == 10 else f"{self.departure}-01")


@dataclass(frozen=True)
class Slot:
    """A departure the plan asks about: one day, or one whole month."""

    departures: str  # "daily" | "monthly"
    day: date  # the day, or the month's first day

    @property
    def text(self) -> str:
        return self.day.isoformat() if self.departures == "daily" else self.day.strftime("%Y-%m")


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def departure_slots(config: RoutesConfig, logical_date: date, query: Query) -> list[Slot]:
    """The departures one query family asks about.

    Daily: each day from the logical date for `horizon.daily_days` days. Monthly: `horizon.months`
    calendar months (or the family's own `months`) counting the logical date's month. When the family
    also asks daily, its months start after the daily part (the last month may overlap it: a month
    request is a different request, and the overlap keeps the rest of that month covered).
    """
    horizon = config.horizon
    months = horizon.months if query.months is None else query.months
    daily = "daily" in query.departures
    slots = (
        [Slot("daily", logical_date + timedelta(days=i)) for i in range(horizon.daily_days)] if daily else []
    )
    if "monthly" not in query.departures or months == 0:
        return slots
    this_month = logical_date.replace(day=1)
    first = (logical_date + timedelta(days=horizon.daily_days)).replace(day=1) if daily else this_month
    last = _add_months(this_month, months - 1)
    month = first
    while month <= last:
        slots.append(Slot("monthly", month))
        month = _add_months(month, 1)
    return slots


def _trips(config: RoutesConfig, query: Query) -> Iterator[tuple[str, str, int | None]]:
    """(kind, label, round-trip length in days or None) for the trips the query asks for."""
    if "one_way" in query.trips and config.trips.one_way:
        yield "one_way", "one_way", None
    if "round_trip" in query.trips:
        for length in config.trips.round_trip_days:
            yield "round_trip", f"round_trip_{length}d", length


def _query_for(
    config: RoutesConfig, query: Query, origin: str, destination: str, slot: Slot, length: int | None
) -> dict[str, str]:
    q = {"origin": origin, "destination": destination, "currency": config.currency, "market": config.market}
    if query.endpoint == "prices_for_dates":
        q["departure_at"] = slot.text
        if length is None:
            q["one_way"] = "true"
        else:
            q["return_at"] = (slot.day + timedelta(days=length)).isoformat()
            q["one_way"] = "false"
    elif query.endpoint == "grouped_prices":
        q.update(departure_at=slot.text, group_by="departure_at")
        if length is not None:
            q["trip_duration"] = str(length)
    elif query.endpoint == "get_latest_prices":
        q.update(period_type="month", beginning_of_period=slot.day.isoformat(), group_by="dates")
        q["one_way"] = "true" if length is None else "false"
    elif query.endpoint == "month_matrix":
        q.update(month=slot.day.isoformat(), one_way="true" if length is None else "false")
    if length is not None and query.endpoint in STAY_IN_WEEKS:
        q["trip_duration"] = str(length // 7)
    # Explicit parameters from the config win over nothing but never override the plan's own.
    return {**query.params, **q}


def build_plan(config: RoutesConfig, logical_date: date) -> list[PlannedRequest]:
    families = [(query, departure_slots(config, logical_date, query)) for query in config.queries]
    plan: list[tuple[date, int, PlannedRequest]] = []
    seen: set[str] = set()
    for family_index, (query, slots) in enumerate(families):
        endpoint = ENDPOINTS[query.endpoint]
        for slot in slots:
            for kind, trip, length in _trips(config, query):
                if (query.endpoint, kind, slot.departures) not in SUPPORTED:
                    continue
                for origin, destination in config.routes.pairs():
                    q = _query_for(config, query, origin, destination, slot, length)
                    key = request_key(endpoint.path, q)
                    if key in seen:  # two query families asking the same thing: ask once
                        continue
                    seen.add(key)
                    request = PlannedRequest(
                        query.endpoint, endpoint.path, q, f"{origin}-{destination}", trip, slot.text, key
                    )
                    plan.append((slot.day, family_index, request))
    # Nearest departures first (a stable sort keeps family, trip and route order within a day):
    # an interrupted run has already collected what changes fastest.
    plan.sort(key=lambda item: (item[0], item[1]))
    return [request for _, _, request in plan]
