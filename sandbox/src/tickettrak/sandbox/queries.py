"""The four endpoints' query semantics: parameters in, response body (a dict) out.

Parameter names, defaults and meanings follow shared/docs/aviasales-data-api.md; where the
recorded bodies show a behaviour the docs do not state, the recordings win (e.g. a search with
`return_at` and no `one_way` lists every offer, like the recorded MOW->DXB bodies).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tickettrak.sandbox.geography import AIRPORT_TO_CITY, CITIES
from tickettrak.sandbox.market import HORIZON_DAYS, Market, Offer
from tickettrak.sandbox.render import RUB_PER_UNIT, v2_item, v3_ticket

MAX_LIMIT = 1000
MAX_STAY_DAYS = 30  # month x month searches pair dates at most this far apart
OPEN_STAYS = (4, 7, 10, 14)  # round trips without return_at: the stays the cache holds


class ApiError(Exception):
    """A request the API refuses (HTTP 400 with the error envelope)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Place:
    """A code as sent: a city (MOW) or one of its airports (VKO, which narrows the city)."""

    city: str
    airport: str | None = None

    def admits(self, airport: str) -> bool:
        return self.airport is None or self.airport == airport


def parse_place(value: str | None, name: str, required: bool) -> Place | None:
    if not value:
        if required:
            raise ApiError(f"{name} is required")
        return None
    code = value.strip().upper()
    if code in CITIES:
        return Place(code)
    if code in AIRPORT_TO_CITY:
        return Place(AIRPORT_TO_CITY[code], code)
    if len(code) == 3 and code.isalpha():
        return Place(code)  # a real IATA code the sandbox does not model: no offers, not an error
    raise ApiError(f"{name} must be an IATA city or airport code, got {value!r}")


def parse_period(value: str, name: str) -> tuple[date, date]:
    """`YYYY-MM` (the whole month) or `YYYY-MM-DD` (that day) -> first and last day."""
    try:
        if len(value) == 7:
            year, month = int(value[:4]), int(value[5:7])
            last = calendar.monthrange(year, month)[1]
            return date(year, month, 1), date(year, month, last)
        day = date.fromisoformat(value)
        return day, day
    except ValueError:
        raise ApiError(f"{name} must be YYYY-MM or YYYY-MM-DD, got {value!r}") from None


def parse_bool(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ApiError(f"{name} must be true or false, got {value!r}")


def parse_int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(f"{name} must be an integer, got {value!r}") from None
    if not low <= number <= high:
        raise ApiError(f"{name} must be between {low} and {high}, got {number}")
    return number


def parse_currency(value: str | None) -> tuple[str, str]:
    """(echo, code): the API echoes the currency in the case it was sent; prices use the code."""
    echo = value if value else "rub"
    code = echo.lower()
    if code not in RUB_PER_UNIT:
        raise ApiError(f"currency {echo!r} is not supported; use one of {', '.join(sorted(RUB_PER_UNIT))}")
    return echo, code


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class Common:
    market: str
    currency_echo: str
    currency: str
    as_of: date


def common(query: Mapping[str, str], as_of: date) -> Common:
    echo, code = parse_currency(query.get("currency"))
    market = (query.get("market") or "ru").lower()
    if not (market.isalpha() and 2 <= len(market) <= 3):
        raise ApiError(f"market must be a market code like ru, got {query.get('market')!r}")
    return Common(market, echo, code, as_of)


class Engine:
    """Answers API queries from a Market."""

    def __init__(self, market: Market) -> None:
        self.market = market

    # --- shared selection ----------------------------------------------------------------------
    def _routes(self, origin: Place | None, destination: Place | None) -> list[tuple[str, str]]:
        if origin is not None and destination is not None:
            pair = (origin.city, destination.city)
            return [pair] if self.market.has_route(*pair) else []
        if origin is not None:
            return [(origin.city, d) for d in self.market.destinations_from(origin.city)]
        if destination is not None:
            return [(o, destination.city) for o in self.market.origins_to(destination.city)]
        return []

    def _collect(
        self,
        routes: Iterable[tuple[str, str]],
        pairs: Iterable[tuple[date, date | None]],
        c: Common,
        origin: Place | None,
        destination: Place | None,
        direct: bool,
    ) -> list[Offer]:
        found: list[Offer] = []
        pair_list = list(pairs)
        for o, d in routes:
            for depart, ret in pair_list:
                for offer in self.market.offers(o, d, depart, ret, c.as_of, c.market):
                    if direct and (offer.transfers or offer.return_transfers):
                        continue
                    if origin is not None and not origin.admits(offer.out.origin):
                        continue
                    if destination is not None and not destination.admits(offer.out.destination):
                        continue
                    found.append(offer)
        return found

    def _departures(self, value: str | None, c: Common, name: str = "departure_at") -> list[date]:
        """Departure days asked for, without the past and beyond the cache's horizon."""
        if value:
            first, last = parse_period(value, name)
        else:
            first, last = c.as_of, c.as_of + timedelta(days=30)
        first = max(first, c.as_of)
        last = min(last, c.as_of + timedelta(days=HORIZON_DAYS))
        return list(days(first, last))

    @staticmethod
    def _pairs(
        departures: list[date], return_at: str | None, round_trip: bool
    ) -> list[tuple[date, date | None]]:
        if return_at:
            first, last = parse_period(return_at, "return_at")
            return [
                (d, r)
                for d in departures
                for r in days(max(first, d), min(last, d + timedelta(days=MAX_STAY_DAYS)))
            ]
        if round_trip:
            return [(d, d + timedelta(days=stay)) for d in departures for stay in OPEN_STAYS]
        return [(d, None) for d in departures]

    @staticmethod
    def _page(items: list[Any], limit: int, page: int) -> list[Any]:
        start = (page - 1) * limit
        return items[start : start + limit]

    @staticmethod
    def _route_rank(offer: Offer) -> tuple[int, str, str]:
        # "route" sorting: by route popularity; Moscow <-> Dubai is the busiest
        popular = ("MOW", "DXB") in ((offer.origin, offer.destination), (offer.destination, offer.origin))
        return (0 if popular else 1, offer.origin, offer.destination)

    # --- /aviasales/v3/prices_for_dates ----------------------------------------------------------
    def prices_for_dates(self, query: Mapping[str, str], as_of: date) -> dict[str, Any]:
        c = common(query, as_of)
        destination = parse_place(query.get("destination"), "destination", required=False)
        origin = parse_place(query.get("origin"), "origin", required=destination is None)
        return_at = query.get("return_at") or None
        one_way_sent = query.get("one_way") not in (None, "")
        one_way = parse_bool(query.get("one_way"), "one_way", default=True)
        direct = parse_bool(query.get("direct"), "direct", default=False)
        unique = parse_bool(query.get("unique"), "unique", default=False)
        limit = parse_int(query.get("limit"), "limit", 30, 1, MAX_LIMIT)
        page = parse_int(query.get("page"), "page", 1, 1, 100_000)
        sorting = (query.get("sorting") or "price").lower()
        if sorting not in ("price", "route"):
            raise ApiError(f"sorting must be price or route, got {query.get('sorting')!r}")
        departures = self._departures(query.get("departure_at"), c)
        if return_at:
            parse_period(return_at, "return_at")  # a malformed return_at is refused even for past dates
        pairs = self._pairs(departures, return_at, round_trip=not one_way)
        offers = self._collect(self._routes(origin, destination), pairs, c, origin, destination, direct)
        # one_way=true keeps only the cheapest offer of each date group. Sent without one_way, a
        # search with return_at lists every offer: that is what the recorded bodies show.
        if one_way and (one_way_sent or not return_at):
            offers = _cheapest_per(offers, lambda o: (o.origin, o.destination, o.depart_date, o.return_date))
        if unique:
            offers = _cheapest_per(offers, lambda o: (o.origin, o.destination))
        if sorting == "route":
            offers.sort(key=lambda o: (*self._route_rank(o), o.departure(), o.price))
        else:
            offers.sort(key=lambda o: (o.price, o.token))
        data = [v3_ticket(o, c.currency, c.as_of) for o in self._page(offers, limit, page)]
        return {"data": data, "currency": c.currency_echo, "success": True}

    # --- /aviasales/v3/grouped_prices ------------------------------------------------------------
    def grouped_prices(self, query: Mapping[str, str], as_of: date) -> dict[str, Any]:
        c = common(query, as_of)
        origin = parse_place(query.get("origin"), "origin", required=True)
        destination = parse_place(query.get("destination"), "destination", required=True)
        group_by = (query.get("group_by") or "departure_at").lower()
        if group_by not in ("departure_at", "month"):
            raise ApiError(f"group_by must be departure_at or month, got {query.get('group_by')!r}")
        direct = parse_bool(query.get("direct"), "direct", default=False)
        departures = self._departures(query.get("departure_at"), c)
        return_at = query.get("return_at") or None
        stay = parse_int(query.get("trip_duration"), "trip_duration", 0, 0, 90)  # nights
        if return_at:
            pairs = self._pairs(departures, return_at, round_trip=True)
        elif stay:
            pairs = [(d, d + timedelta(days=stay)) for d in departures]
        else:
            pairs = [(d, None) for d in departures]
        offers = self._collect(self._routes(origin, destination), pairs, c, origin, destination, direct)

        def group(o: Offer) -> str:
            return (
                o.depart_date.isoformat() if group_by == "departure_at" else o.depart_date.strftime("%Y-%m")
            )

        cheapest = _cheapest_per(offers, group)
        cheapest.sort(key=group)
        data = {group(o): v3_ticket(o, c.currency, c.as_of) for o in cheapest}
        return {"data": data, "currency": c.currency_echo, "success": True}

    # --- /aviasales/v3/get_latest_prices ---------------------------------------------------------
    def get_latest_prices(self, query: Mapping[str, str], as_of: date) -> dict[str, Any]:
        c = common(query, as_of)
        origin = parse_place(query.get("origin"), "origin", required=False)
        destination = parse_place(query.get("destination"), "destination", required=origin is None)
        period_type = (query.get("period_type") or "year").lower()
        if period_type not in ("year", "month", "day"):
            raise ApiError(f"period_type must be year, month or day, got {query.get('period_type')!r}")
        group_by = (query.get("group_by") or "dates").lower()
        if group_by not in ("dates", "directions"):
            raise ApiError(f"group_by must be dates or directions, got {query.get('group_by')!r}")
        one_way = parse_bool(query.get("one_way"), "one_way", default=False)
        weeks = parse_int(query.get("trip_duration"), "trip_duration", 1, 1, 4)
        trip_class = parse_int(query.get("trip_class"), "trip_class", 0, 0, 2)
        limit = parse_int(query.get("limit"), "limit", 30, 1, MAX_LIMIT)
        page = parse_int(query.get("page"), "page", 1, 1, 100_000)
        sorting = (query.get("sorting") or "price").lower()
        if sorting not in ("price", "route", "distance_unit_price"):
            raise ApiError(
                f"sorting must be price, route or distance_unit_price, got {query.get('sorting')!r}"
            )
        begin_text = query.get("beginning_of_period")
        if period_type != "year" and not begin_text:
            raise ApiError("beginning_of_period is required with period_type month or day")
        if period_type == "year":
            first, last = c.as_of, c.as_of + timedelta(days=364)
        else:
            first, last = parse_period(begin_text or "", "beginning_of_period")
            if period_type == "month":
                last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        departures = [d for d in days(max(first, c.as_of), last) if (d - c.as_of).days <= HORIZON_DAYS]
        pairs: list[tuple[date, date | None]] = (
            [(d, None) for d in departures]
            if one_way
            else [(d, d + timedelta(days=7 * weeks)) for d in departures]
        )
        if trip_class != 0:
            offers: list[Offer] = []  # the sandbox models economy only: business searches are empty
        else:
            offers = self._collect(self._routes(origin, destination), pairs, c, origin, destination, False)

        def key(o: Offer) -> tuple[str, ...]:
            if group_by == "directions":
                return (o.origin, o.destination)
            return (o.origin, o.destination, o.depart_date.isoformat())

        chosen = _cheapest_per(offers, key)
        if sorting == "route":
            chosen.sort(key=lambda o: (*self._route_rank(o), o.depart_date, o.price))
        elif sorting == "distance_unit_price":
            chosen.sort(key=lambda o: v2_item(o, "rub")["value"] / max(v2_item(o, "rub")["distance"], 1))
        else:
            chosen.sort(key=lambda o: (o.price, o.depart_date))
        data = [v2_item(o, c.currency) for o in self._page(chosen, limit, page)]
        return {"success": True, "data": data, "currency": c.currency_echo}

    # --- /v2/prices/month-matrix ------------------------------------------------------------------
    def month_matrix(self, query: Mapping[str, str], as_of: date) -> dict[str, Any]:
        c = common(query, as_of)
        origin = parse_place(query.get("origin"), "origin", required=True)
        destination = parse_place(query.get("destination"), "destination", required=True)
        month_text = query.get("month") or c.as_of.strftime("%Y-%m-01")
        first, _ = parse_period(month_text, "month")
        first = first.replace(day=1)
        last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        weeks = parse_int(query.get("trip_duration"), "trip_duration", 0, 0, 4)
        one_way = parse_bool(query.get("one_way"), "one_way", default=weeks == 0)
        limit = parse_int(query.get("limit"), "limit", 30, 1, MAX_LIMIT)
        departures = [d for d in days(max(first, c.as_of), last) if (d - c.as_of).days <= HORIZON_DAYS]
        stay = 7 * (weeks or 1)
        pairs: list[tuple[date, date | None]] = (
            [(d, None) for d in departures]
            if one_way
            else [(d, d + timedelta(days=stay)) for d in departures]
        )
        offers = self._collect(self._routes(origin, destination), pairs, c, origin, destination, False)
        # the calendar: per day, the cheapest offer of each number of changes (like the recording)
        chosen = _cheapest_per(offers, lambda o: (o.depart_date, o.transfers))
        chosen.sort(key=lambda o: (o.price, o.depart_date))
        data = [v2_item(o, c.currency) for o in chosen[:limit]]
        return {"success": True, "data": data, "currency": c.currency_echo}


def _cheapest_per(offers: Iterable[Offer], key: Any) -> list[Offer]:
    best: dict[Any, Offer] = {}
    for offer in offers:
        k = key(offer)
        current = best.get(k)
        if current is None or (offer.price, offer.token) < (current.price, current.token):
            best[k] = offer
    return list(best.values())
