"""Validation before any upstream call: what passes, what is refused, and the message says why."""

from __future__ import annotations

import pytest

from tickettrak.common.endpoints import BY_PATH
from tickettrak.common.query_params import (
    PARAMS,
    InvalidRequest,
    validate_logical_date,
    validate_query,
    validate_run_id,
)

PFD = "/aviasales/v3/prices_for_dates"
GOOD = {
    "origin": "MOW",
    "destination": "DXB",
    "departure_at": "2026-12-05",
    "return_at": "2026-12-12",
    "one_way": "false",
    "currency": "RUB",
    "market": "ru",
    "limit": "1000",
    "page": "1",
    "sorting": "route",
}


def test_every_registry_endpoint_has_a_parameter_table() -> None:
    assert set(PARAMS) == set(BY_PATH)


def test_a_valid_query_goes_through_in_order_without_token() -> None:
    items = [*GOOD.items(), ("token", "client-token")]
    assert list(validate_query(PFD, items).items()) == list(GOOD.items())


@pytest.mark.parametrize(
    ("param", "value", "fragment"),
    [
        ("origin", "mow", "IATA"),
        ("origin", "MOSC", "IATA"),
        ("destination", "DX", "IATA"),
        ("destination", "DXB' OR 1=1 --", "IATA"),
        ("departure_at", "2026-02-30", "not a real date"),
        ("departure_at", "2026-13", "not a real month"),
        ("departure_at", "05.12.2026", "YYYY-MM-DD"),
        ("departure_at", "<script>alert(1)</script>", "YYYY-MM-DD"),
        ("limit", "0", "1 to 1000"),
        ("limit", "5000", "1 to 1000"),
        ("limit", "-1", "1 to 1000"),
        ("limit", "10; DROP TABLE tickets", "1 to 1000"),
        ("page", "0", "from 1"),
        ("sorting", "cheapest", "price, route"),
        ("one_way", "yes", "true, false"),
        ("currency", "XXX", "currency"),
        ("market", "RU", "market"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(param: str, value: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_query(PFD, [*{**GOOD, param: value}.items()])
    assert [name for name, _ in caught.value.errors] == [param]
    assert fragment in caught.value.errors[0][1]


def test_unknown_repeated_and_missing_parameters_are_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        validate_query(PFD, [("destination", "DXB"), ("destination", "AUH"), ("depart_date", "2026-12-01")])
    problems = dict(caught.value.errors)
    assert "given more than once" in problems["destination"]
    assert "unknown parameter" in problems["depart_date"]
    assert "required" in problems["origin"]


def test_return_before_departure_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="before departure_at"):
        validate_query(PFD, [*{**GOOD, "return_at": "2026-12-01"}.items()])


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/aviasales/v3/grouped_prices", {"origin": "MOW", "destination": "DXB", "group_by": "month"}),
        (
            "/aviasales/v3/get_latest_prices",
            {"origin": "LED", "period_type": "month", "beginning_of_period": "2026-12-01", "trip_class": "0"},
        ),
        (
            "/v2/prices/month-matrix",
            {"origin": "LED", "destination": "HKT", "month": "2022-01-01", "limit": "31"},
        ),
    ],
)
def test_other_endpoints_accept_their_own_parameters(path: str, query: dict[str, str]) -> None:
    assert validate_query(path, list(query.items())) == query


def test_enums_are_per_endpoint() -> None:
    with pytest.raises(InvalidRequest, match="group_by"):
        validate_query("/aviasales/v3/grouped_prices", [("origin", "MOW"), ("group_by", "directions")])
    with pytest.raises(InvalidRequest, match="trip_class"):
        validate_query("/aviasales/v3/get_latest_prices", [("origin", "MOW"), ("trip_class", "3")])


def test_run_headers() -> None:
    assert validate_logical_date("2026-11-20", "h") == "2026-11-20"
    assert validate_logical_date(None, "h") is None
    assert validate_run_id("scheduled__2026-11-20T00:00:00+00:00", "h")
    for bad in ("2026-11-31", "20261120", "2026-11"):
        with pytest.raises(InvalidRequest):
            validate_logical_date(bad, "h")
    for bad in ("run id with spaces", "x" * 129, "r1\nX-Injected: 1"):
        with pytest.raises(InvalidRequest):
            validate_run_id(bad, "h")


def test_openapi_description_matches_the_table() -> None:
    described = [p.openapi() for p in PARAMS[PFD].params]
    names = [d["name"] for d in described]
    assert names[:2] == ["origin", "destination"] and described[0]["required"] is True
    sorting = next(d for d in described if d["name"] == "sorting")
    assert sorting["schema"]["enum"] == ["price", "route"]
