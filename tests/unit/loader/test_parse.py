"""parse_document on recorded bodies and on every kind of bad input (no services)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.raw_docs import raw_document, recorded_documents
from tickettrak.loader.copy_text import encode_rows
from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS, parse_document

COL = {name: i for i, name in enumerate(TICKET_COLUMNS)}
LOG = {name: i for i, name in enumerate(REQUEST_LOG_COLUMNS)}


def _first_mow_dxb(fixtures_dir: Path) -> dict[str, Any]:
    return recorded_documents(fixtures_dir)[0][1]


def test_recorded_bodies_give_one_row_per_offer(fixtures_dir: Path) -> None:
    for name, doc in recorded_documents(fixtures_dir):
        parsed = parse_document(doc)
        offers = json.loads((fixtures_dir / name).read_text())["data"]
        assert len(parsed.tickets) == len(offers), name
        assert parsed.errors == [], name
        assert len({t[COL["offer_id"]] for t in parsed.tickets}) == len(offers), f"{name}: offers collapsed"
        assert parsed.request_log[LOG["offers_count"]] == len(offers)
        assert parsed.request_log[LOG["success"]] is True


def test_v3_offer_values(fixtures_dir: Path) -> None:
    row = parse_document(_first_mow_dxb(fixtures_dir)).tickets[0]
    assert row[COL["departure_at"]] == datetime(2025, 12, 12, 5, 40, tzinfo=UTC)
    assert row[COL["return_at"]] == datetime(2025, 12, 17, 13, 30, tzinfo=UTC)
    assert row[COL["departure_date"]] == date(2025, 12, 12)  # the local date, not the UTC one
    assert row[COL["search_date"]] == date(2025, 12, 11)
    assert row[COL["deep_link"]].startswith("https://www.aviasales.ru/search/MOW1212DXB17121?t=")
    assert (row[COL["flight_number"]], row[COL["currency"]], row[COL["trip_type"]]) == (
        "715",
        "rub",
        "round_trip",
    )


def test_local_date_differs_from_utc_date(fixtures_dir: Path) -> None:
    doc = _first_mow_dxb(fixtures_dir)
    doc["response"]["body"]["data"][0]["departure_at"] = "2025-12-12T01:30:00+03:00"  # 2025-12-11 in UTC
    row = parse_document(doc).tickets[0]
    assert row[COL["departure_date"]] == date(2025, 12, 12)
    assert row[COL["departure_at"]] == datetime(2025, 12, 11, 22, 30, tzinfo=UTC)


def test_offer_identity_ignores_endpoint_but_keeps_the_return_leg(fixtures_dir: Path) -> None:
    doc = _first_mow_dxb(fixtures_dir)
    grouped = raw_document(
        {"success": True, "currency": "rub", "data": {"2025-12-12": doc["response"]["body"]["data"][0]}},
        endpoint="/aviasales/v3/grouped_prices",
        seq=99,
    )
    list_ids = [t[COL["offer_id"]] for t in parse_document(doc).tickets]
    grouped_rows = parse_document(grouped).tickets
    assert grouped_rows[0][COL["offer_id"]] == list_ids[0]
    assert grouped_rows[0][COL["item_path"]] == "data.2025-12-12"
    other_return = copy.deepcopy(doc)
    other_return["response"]["body"]["data"][0]["return_at"] = "2025-12-17T23:55:00+04:00"
    assert parse_document(other_return).tickets[0][COL["offer_id"]] != list_ids[0]


def test_observed_date_falls_back_to_requested_at(fixtures_dir: Path) -> None:
    doc = _first_mow_dxb(fixtures_dir)
    doc["logical_date"] = None
    doc["timing"]["requested_at"] = datetime(2025, 12, 20, 23, 59)  # montydb: naive = UTC
    assert parse_document(doc).tickets[0][COL["observed_date"]] == date(2025, 12, 20)


def test_v2_found_at_with_offset_z_and_no_zone() -> None:
    items = [
        {"origin": "MOW", "destination": "DXB", "value": 20000, "depart_date": "2026-01-10",
         "return_date": "", "number_of_changes": 0, "found_at": stamp}
        for stamp in ("2026-01-02T10:00:00+03:00", "2026-01-02T07:00:00Z", "2026-01-02T07:00:00")
    ]  # fmt: skip
    doc = raw_document(
        {"success": True, "currency": "RUB", "data": items}, endpoint="/v2/prices/month-matrix", seq=1
    )
    rows = parse_document(doc).tickets
    assert {r[COL["found_at"]] for r in rows} == {datetime(2026, 1, 2, 7, 0, tzinfo=UTC)}
    assert {r[COL["currency"]] for r in rows} == {"rub"}
    assert {r[COL["trip_type"]] for r in rows} == {"one_way"}


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda o: o.update(price=-1), "negative_price"),
        (lambda o: o.update(price=True), "mistyped_field"),
        (lambda o: o.update(price="100"), "mistyped_field"),
        (lambda o: o.pop("price"), "missing_field"),
        (lambda o: o.pop("departure_at"), "missing_field"),
        (lambda o: o.update(departure_at="2025-12-12T08:40:00"), "invalid_datetime"),
        (lambda o: o.update(return_at="2025-12-12T05:00:00+03:00"), "return_before_departure"),
        (lambda o: o.update(transfers="0"), "mistyped_field"),
        (lambda o: o.update(flight_number=[1]), "mistyped_field"),
    ],
)
def test_bad_offer_is_quarantined_and_the_rest_loads(fixtures_dir: Path, mutate: Any, reason: str) -> None:
    doc = _first_mow_dxb(fixtures_dir)
    mutate(doc["response"]["body"]["data"][5])
    parsed = parse_document(doc)
    assert len(parsed.tickets) == 19
    assert [(e.item_path, e.reason) for e in parsed.errors] == [("data[5]", reason)]
    assert parsed.errors[0].fragment is not None


@pytest.mark.parametrize(
    ("kwargs", "reason", "success"),
    [
        ({"body": None, "status": 502, "body_text": "<html>bad gateway</html>"}, "non_json_body", False),
        (
            {"body": {"success": False, "data": None, "error": "bad token"}, "status": 401},
            "error_response",
            False,
        ),
        ({"body": {"success": False, "data": {}, "error": "x"}, "status": 200}, "error_response", False),
        ({"body": None, "status": None, "transport_error": "ConnectTimeout"}, "transport_error", False),
        ({"body": None, "status": 204, "body_format": "empty"}, "empty_body", False),
        ({"body": {"success": True, "data": "nope", "currency": "rub"}}, "unexpected_shape", True),
        ({"body": {"success": True, "data": [{"price": 1}], "currency": "zzz"}}, "unknown_currency", True),
        ({"body": {"success": True, "data": []}, "endpoint": "/v1/prices/cheap"}, "unknown_endpoint", True),
    ],
)
def test_bad_documents_still_get_a_request_log(kwargs: dict[str, Any], reason: str, success: bool) -> None:
    body = kwargs.pop("body")
    parsed = parse_document(raw_document(body, seq=7, **kwargs))
    assert [e.reason for e in parsed.errors] == [reason]
    assert parsed.tickets == []
    assert parsed.request_log[LOG["raw_seq"]] == 7
    assert parsed.request_log[LOG["success"]] is success
    if not success:
        assert parsed.request_log[LOG["error"]]


def test_copy_text_escapes_and_keeps_offsets() -> None:
    payload = encode_rows(
        [("a\tb\\c\nd\x00", None, True, 3, 1.5, datetime(2025, 1, 1, tzinfo=UTC), date(2025, 1, 2))]
    )
    assert payload == b"a\\tb\\\\c\\nd\xef\xbf\xbd\t\\N\tt\t3\t1.5\t2025-01-01T00:00:00+00:00\t2025-01-02\n"
