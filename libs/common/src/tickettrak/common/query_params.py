"""The query parameters each Data API endpoint accepts, and their validation before any upstream call.

One table drives the proxy's validation, its OpenAPI description, and the collector's check of a
routes config at start (`tickettrak.collector.query_params`), so none can drift from the others.
Unknown parameters are refused too: the real API silently ignores a misspelt parameter and answers
with its defaults, which is how earlier pipelines collected the wrong data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tickettrak.common.endpoints import TOKEN_PARAMS

IATA = re.compile(r"[A-Z]{3}")
MONTH = re.compile(r"(\d{4})-(\d{2})")
DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
RUN_ID = re.compile(r"[A-Za-z0-9_.:+@/-]{1,128}")

# Currencies the Data API prices in (ISO 4217, any case: the API echoes the case it was sent).
CURRENCIES = frozenset(
    [
        "rub",
        "usd",
        "eur",
        "aed",
        "kzt",
        "uah",
        "byn",
        "gbp",
        "try",
        "cny",
        "jpy",
        "inr",
        "thb",
        "vnd",
        "idr",
        "myr",
        "sgd",
        "krw",
        "azn",
        "amd",
        "gel",
        "uzs",
        "kgs",
        "tjs",
        "chf",
        "pln",
        "czk",
        "huf",
        "sek",
        "nok",
        "dkk",
        "ils",
        "egp",
        "sar",
        "qar",
        "kwd",
        "bhd",
        "omr",
        "cad",
        "aud",
        "nzd",
        "brl",
        "mxn",
        "ars",
        "clp",
        "cop",
        "pen",
        "zar",
        "hkd",
        "php",
        "lkr",
        "mdl",
        "rsd",
        "bgn",
        "ron",
    ]
)


class InvalidRequest(Exception):
    """The request cannot go upstream; `errors` lists (parameter, message) pairs."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors))


def show_value(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def _iata(value: str) -> str | None:
    return None if IATA.fullmatch(value) else "must be an IATA code: 3 uppercase letters, like MOW"


def _real_date(value: str, *, allow_month: bool) -> str | None:
    day, month = DAY.fullmatch(value), MONTH.fullmatch(value)
    what = "YYYY-MM-DD or YYYY-MM" if allow_month else "YYYY-MM-DD"
    if day:
        try:
            date(int(day[1]), int(day[2]), int(day[3]))
        except ValueError:
            return f"is not a real date ({what})"
        return None
    if month and allow_month:
        if not 1 <= int(month[2]) <= 12:
            return f"is not a real month ({what})"
        return None
    return f"must be a date as {what}"


def _date_or_month(value: str) -> str | None:
    return _real_date(value, allow_month=True)


def _day(value: str) -> str | None:
    return _real_date(value, allow_month=False)


def _int_range(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not re.fullmatch(r"[0-9]{1,7}", value) or not low <= int(value) <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _currency(value: str) -> str | None:
    return (
        None if value.lower() in CURRENCIES else "must be an ISO 4217 currency code the API knows, like rub"
    )


def _market(value: str) -> str | None:
    return None if re.fullmatch(r"[a-z]{2}", value) else "must be a market: 2 lowercase letters, like ru"


BOOLEAN = _one_of("true", "false")


@dataclass(frozen=True)
class Param:
    name: str
    check: Callable[[str], str | None]
    description: str
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    required: bool = False

    def openapi(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.pattern:
            schema["pattern"] = self.pattern
        if self.enum:
            schema["enum"] = list(self.enum)
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": schema,
        }


def _enum(name: str, description: str, *choices: str) -> Param:
    return Param(name, _one_of(*choices), description, enum=choices)


ORIGIN = Param("origin", _iata, "IATA city or airport code of departure", "^[A-Z]{3}$", required=True)
DESTINATION = Param("destination", _iata, "IATA city or airport code of arrival", "^[A-Z]{3}$")
DATE_OR_MONTH = r"^\d{4}-\d{2}(-\d{2})?$"
CURRENCY = Param("currency", _currency, "price currency (default rub)", "^[A-Za-z]{3}$")
MARKET = Param("market", _market, "market of the searches (default ru)", "^[a-z]{2}$")
ONE_WAY = _enum("one_way", "true: one offer per date group; false: more round-trip offers", "true", "false")
DIRECT = _enum("direct", "non-stop flights only", "true", "false")
LIMIT = Param("limit", _int_range(1, 1000), "results per page, 1..1000", r"^\d+$")
PAGE = Param("page", _int_range(1, 100_000), "page number, from 1", r"^\d+$")
SHOW_TO_AFFILIATES = _enum("show_to_affiliates", "only prices found with affiliate markers", "true", "false")
TRIP_DURATION = Param("trip_duration", _int_range(0, 365), "length of stay", r"^\d+$")


@dataclass(frozen=True)
class EndpointParams:
    params: tuple[Param, ...]
    by_name: dict[str, Param] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {p.name: p for p in self.params})


PARAMS: dict[str, EndpointParams] = {
    "/aviasales/v3/prices_for_dates": EndpointParams(
        (
            ORIGIN,
            DESTINATION,
            Param("departure_at", _date_or_month, "departure: YYYY-MM-DD or YYYY-MM", DATE_OR_MONTH),
            Param(
                "return_at", _date_or_month, "return: YYYY-MM-DD or YYYY-MM; omit for one-way", DATE_OR_MONTH
            ),
            ONE_WAY,
            DIRECT,
            CURRENCY,
            MARKET,
            LIMIT,
            PAGE,
            _enum("sorting", "order of the results", "price", "route"),
            _enum("unique", "one offer per destination", "true", "false"),
        )
    ),
    "/aviasales/v3/grouped_prices": EndpointParams(
        (
            ORIGIN,
            DESTINATION,
            Param("departure_at", _date_or_month, "departure: YYYY-MM-DD or YYYY-MM", DATE_OR_MONTH),
            Param("return_at", _date_or_month, "return: YYYY-MM-DD or YYYY-MM", DATE_OR_MONTH),
            _enum("group_by", "group the offers by departure day or by month", "departure_at", "month"),
            DIRECT,
            CURRENCY,
            MARKET,
            TRIP_DURATION,
            Param("min_trip_duration", _int_range(0, 365), "shortest stay", r"^\d+$"),
            Param("max_trip_duration", _int_range(0, 365), "longest stay", r"^\d+$"),
        )
    ),
    "/aviasales/v3/get_latest_prices": EndpointParams(
        (
            ORIGIN,
            DESTINATION,
            Param("beginning_of_period", _day, "first day of the period: YYYY-MM-DD", r"^\d{4}-\d{2}-\d{2}$"),
            _enum("period_type", "length of the period", "year", "month", "day"),
            _enum("group_by", "group the offers by dates or by directions", "dates", "directions"),
            ONE_WAY,
            CURRENCY,
            MARKET,
            LIMIT,
            PAGE,
            _enum("sorting", "order of the results", "price", "route", "distance_unit_price"),
            SHOW_TO_AFFILIATES,
            TRIP_DURATION,
            _enum("trip_class", "0 economy, 1 business, 2 first", "0", "1", "2"),
        )
    ),
    "/v2/prices/month-matrix": EndpointParams(
        (
            ORIGIN,
            DESTINATION,
            Param("month", _date_or_month, "the month: YYYY-MM-01 (or YYYY-MM)", DATE_OR_MONTH),
            ONE_WAY,
            CURRENCY,
            MARKET,
            LIMIT,
            SHOW_TO_AFFILIATES,
            TRIP_DURATION,
        )
    ),
}


def validate_query(path: str, items: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The query to send upstream (token parameters dropped, order kept), or `InvalidRequest`."""
    spec = PARAMS[path]
    errors: list[tuple[str, str]] = []
    query: dict[str, str] = {}
    for name, value in items:
        if name in TOKEN_PARAMS:
            continue  # the proxy adds its own token; a client's is dropped, never forwarded or stored
        param = spec.by_name.get(name)
        if param is None:
            errors.append((name, f"unknown parameter; this endpoint accepts {', '.join(spec.by_name)}"))
        elif name in query:
            errors.append((name, "given more than once"))
        elif problem := param.check(value):
            errors.append((name, f"{problem}, got {show_value(value)}"))
        query[name] = value
    for param in spec.params:
        if param.required and param.name not in query:
            errors.append((param.name, "is required"))
    departure, back = query.get("departure_at"), query.get("return_at")
    if departure and back and not errors and back < departure[: len(back)]:
        errors.append(("return_at", f"is before departure_at ({back} < {departure})"))
    if errors:
        raise InvalidRequest(errors)
    return query


def validate_logical_date(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    if problem := _day(value):
        raise InvalidRequest([(name, f"{problem}, got {show_value(value)}")])
    return value


def validate_run_id(value: str | None, name: str) -> str | None:
    if value is None or RUN_ID.fullmatch(value):
        return value
    raise InvalidRequest([(name, f"must be 1-128 ASCII letters, digits or _.:+@/-, got {show_value(value)}")])
