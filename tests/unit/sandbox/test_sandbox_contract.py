"""Contract: the sandbox's bodies have the recorded bodies' shape, field by field, recursively.

The shape of a JSON value is its type tree: objects -> {key: shape}, arrays -> the set of their
items' shapes, scalars -> the JSON type (int and float and bool are different types). Any added,
missing or retyped key anywhere fails. Formats the types cannot see (offsets, the link, the
zero-padded flight numbers) are checked against the recordings' own patterns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.sandbox import InProcessSandbox
from tickettrak.common.models import parse_response

AS_OF = date(2026, 3, 2)
PRICES = "/aviasales/v3/prices_for_dates"
GROUPED = "/aviasales/v3/grouped_prices"
LATEST = "/aviasales/v3/get_latest_prices"
MATRIX = "/v2/prices/month-matrix"
V3_RECORDINGS = [
    f"aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_2025-12-{day}.json"
    for day in (12, 13, 14)
]


def shape(value: Any) -> Any:
    """The JSON type tree of a value (hashable, comparable)."""
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, shape(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("array", frozenset(shape(v) for v in value))
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    raise TypeError(type(value))


def _kind(tree: Any) -> str:
    return str(tree[0]) if isinstance(tree, tuple) else str(tree)


def diff(recorded: Any, served: Any, path: str = "$") -> list[str]:
    """Every place where the served shape drifts from the recorded one (empty list: same shape)."""
    if _kind(recorded) != _kind(served):
        return [f"{path}: recorded {_kind(recorded)}, served {_kind(served)}"]
    if _kind(recorded) == "object":
        rec, srv = dict(recorded[1]), dict(served[1])
        problems = [f"{path}.{k}: missing" for k in sorted(rec.keys() - srv.keys())]
        problems += [f"{path}.{k}: not in the recordings" for k in sorted(srv.keys() - rec.keys())]
        for key in sorted(rec.keys() & srv.keys()):
            problems += diff(rec[key], srv[key], f"{path}.{key}")
        return problems
    if _kind(recorded) == "array":
        if not recorded[1] or not served[1]:
            return [] if recorded[1] == served[1] else [f"{path}: one side is an empty array"]
        if len(recorded[1]) == 1:  # the usual case: every recorded item has one shape
            (only,) = recorded[1]
            return [problem for item in served[1] for problem in diff(only, item, f"{path}[]")]
        return [
            f"{path}[]: an item shape not among the recorded ones" for i in served[1] if i not in recorded[1]
        ]
    return []


def test_the_comparator_catches_drift() -> None:
    """The comparator itself must fail on a renamed key, a retyped value and an extra key."""
    base = {"data": [{"price": 1, "flight_number": "099"}], "success": True}
    assert diff(shape(base), shape(base)) == []
    assert diff(shape(base), shape({"data": [{"price": 1.0, "flight_number": "099"}], "success": True}))
    assert diff(shape(base), shape({"data": [{"price": 1, "flight_number": 99}], "success": True}))
    assert diff(shape(base), shape({"data": [{"price": 1, "flight_number": "099", "x": 1}], "success": True}))
    assert diff(shape(base), shape({"data": [{"price": 1}], "success": True}))
    assert diff(shape(base), shape({"data": [{"price": 1, "flight_number": "099"}], "success": "true"}))


def _load(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / name).read_text())


@pytest.fixture
def app(sandbox_app: Callable[..., InProcessSandbox]) -> InProcessSandbox:
    return sandbox_app(as_of=AS_OF)


def _round_trip(app: InProcessSandbox, **extra: Any) -> dict[str, Any]:
    depart = AS_OF + timedelta(days=40)
    params = {
        "origin": "MOW",
        "destination": "DXB",
        "departure_at": depart.isoformat(),
        "return_at": (depart + timedelta(days=5)).isoformat(),
        "limit": 20,
        **extra,
    }
    response = app.get(PRICES, params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert len(body["data"]) == min(int(params["limit"]), 20) or len(body["data"]) > 20
    return body


@pytest.mark.parametrize("recording", V3_RECORDINGS)
def test_prices_for_dates_round_trip_has_the_recorded_shape(
    app: InProcessSandbox, fixtures_dir: Path, recording: str
) -> None:
    recorded = _load(fixtures_dir, recording)
    served = _round_trip(app)  # like the recordings: return_at, limit=20, no currency, no one_way
    assert diff(shape(recorded), shape(served)) == []
    assert list(served) == list(recorded)  # envelope key order: data, currency, success
    assert list(served["data"][0]) == list(recorded["data"][0])  # ticket key order too
    assert served["currency"] == recorded["currency"] == "rub"


def test_past_departure_is_the_recorded_empty_body_exactly(app: InProcessSandbox, fixtures_dir: Path) -> None:
    recorded = _load(
        fixtures_dir, "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_empty_past_date.json"
    )
    served = app.get(PRICES, {"origin": "MOW", "destination": "DXB", "departure_at": "2026-02", "limit": 20})
    assert served.status_code == 200
    assert served.json() == recorded


def test_v3_value_formats_match_the_recordings(app: InProcessSandbox, fixtures_dir: Path) -> None:
    recorded = [t for name in V3_RECORDINGS for t in _load(fixtures_dir, name)["data"]]
    served = _round_trip(app, one_way="false", limit=200)["data"]
    offset = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+0[34]:00$")
    link = re.compile(
        r"^/search/MOW\d{4}DXB\d{4}1\?t=[A-Z0-9]{2}(\d{10}\d{10}\d{6}[A-Z]{6,12}){2}_[0-9a-f]{32}_\d+"
        r"&search_date=\d{8}&expected_price_uuid=[0-9a-f-]{36}&expected_price_source=share"
        r"&expected_price_currency=rub&expected_price=\d+$"
    )
    for ticket in recorded + served:  # the pattern is proven on the recordings first
        assert offset.match(ticket["departure_at"]) and offset.match(ticket["return_at"]), ticket
        assert link.match(ticket["link"]), ticket["link"]
        assert ticket["link"].endswith(f"expected_price={ticket['price']}")
        assert re.fullmatch(r"\d{3,4}", ticket["flight_number"])
        assert ticket["origin_airport"] in ("SVO", "DME", "VKO")
        assert ticket["destination_airport"] in ("DXB", "DWC")


def test_one_way_v3_ticket_is_the_recorded_shape_without_return_at(
    app: InProcessSandbox, fixtures_dir: Path
) -> None:
    ticket = _load(fixtures_dir, V3_RECORDINGS[0])["data"][0]
    one_way_shape = shape({k: v for k, v in ticket.items() if k != "return_at"})
    month = (AS_OF + timedelta(days=30)).strftime("%Y-%m")
    body = app.get(PRICES, {"origin": "MOW", "destination": "DXB", "departure_at": month}).json()
    assert body["data"]
    for served in body["data"]:
        assert diff(one_way_shape, shape(served)) == []


def test_grouped_prices_values_are_v3_tickets(app: InProcessSandbox, fixtures_dir: Path) -> None:
    recorded_ticket = shape(_load(fixtures_dir, V3_RECORDINGS[0])["data"][0])
    month = (AS_OF + timedelta(days=40)).strftime("%Y-%m")
    response = app.get(
        GROUPED, {"origin": "MOW", "destination": "DXB", "departure_at": month, "return_at": month}
    )
    body = response.json()
    assert list(body) == ["data", "currency", "success"] and body["success"] is True
    assert len(body["data"]) >= 20
    for key, ticket in body["data"].items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", key) and ticket["departure_at"].startswith(key)
        assert diff(recorded_ticket, shape(ticket)) == []


def test_month_matrix_has_the_recorded_shape(app: InProcessSandbox, fixtures_dir: Path) -> None:
    recorded = _load(fixtures_dir, "v2_prices_month-matrix__abame_travelpayouts.json")
    month = (AS_OF + timedelta(days=40)).strftime("%Y-%m-01")
    served = app.get(
        MATRIX, {"origin": "LED", "destination": "DXB", "month": month, "currency": "usd"}
    ).json()
    assert diff(shape(recorded), shape(served)) == []
    assert list(served) == list(recorded)
    assert list(served["data"][0]) == list(recorded["data"][0])
    assert all(item["return_date"] == "" for item in served["data"])  # one-way, like the recording
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", i["found_at"]) for i in served["data"])


def test_get_latest_prices_items_have_the_recorded_v2_shape(
    app: InProcessSandbox, fixtures_dir: Path
) -> None:
    recorded = _load(fixtures_dir, "v2_prices_latest__abame_travelpayouts.json")
    served = app.get(
        LATEST,
        {
            "origin": "MOW",
            "destination": "DXB",
            "period_type": "month",
            "beginning_of_period": (AS_OF + timedelta(days=40)).strftime("%Y-%m-01"),
        },
    ).json()
    assert served["data"]
    item_shape = shape(recorded["data"][0])
    for item in served["data"]:
        assert diff(item_shape, shape(item)) == []
    # no recording of this endpoint exists: the envelope is the documented v2 one
    assert list(served) == ["success", "data", "currency"]


DEPART = AS_OF + timedelta(days=40)
ANY_BODY = [
    (PRICES, {"departure_at": DEPART.isoformat(), "return_at": (DEPART + timedelta(days=7)).isoformat()}),
    (PRICES, {"departure_at": DEPART.strftime("%Y-%m")}),
    (GROUPED, {"departure_at": DEPART.strftime("%Y-%m")}),
    (LATEST, {"period_type": "month", "beginning_of_period": DEPART.strftime("%Y-%m-01")}),
    (MATRIX, {"month": DEPART.strftime("%Y-%m-01")}),
]


@pytest.mark.parametrize(("path", "params"), ANY_BODY)
def test_every_sandbox_body_parses_with_the_shared_models(
    app: InProcessSandbox, path: str, params: dict[str, str]
) -> None:
    body = app.get(path, {"origin": "MOW", "destination": "DXB", **params}).json()
    parsed = parse_response(path, body)
    assert parsed.success and parsed.offers
