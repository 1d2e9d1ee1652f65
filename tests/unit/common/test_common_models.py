"""Aviasales response models against the real recorded bodies (ground truth: shared/fixtures)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tickettrak.common.endpoints import ENDPOINTS
from tickettrak.common.models import (
    RESPONSE_MODELS,
    GetLatestPricesResponse,
    GroupedPricesResponse,
    MonthMatrixResponse,
    PricesForDatesResponse,
    UnknownEndpointError,
    V2Price,
    V2PricesResponse,
    parse_response,
)

V3_BODIES = {
    "2025-12-12": "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_2025-12-12.json",
    "2025-12-13": "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_2025-12-13.json",
    "2025-12-14": "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_2025-12-14.json",
}
EMPTY_PAST = "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_empty_past_date.json"
MONTH_MATRIX = "v2_prices_month-matrix__abame_travelpayouts.json"
V2_LATEST = "v2_prices_latest__abame_travelpayouts.json"
V2_LATEST_BARE = "v2_prices_latest__unknown-repo-b.json"  # only the data array was saved
V2_WEEK_MATRIX = "v2_prices_week-matrix__abame_travelpayouts.json"
MSK = timezone(timedelta(hours=3))
GST = timezone(timedelta(hours=4))


def load(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / name).read_text())


def test_every_registered_endpoint_has_a_model() -> None:
    assert set(RESPONSE_MODELS) == {e.path for e in ENDPOINTS.values()}
    with pytest.raises(UnknownEndpointError):
        parse_response("/v1/prices/cheap", {})


@pytest.mark.parametrize("departure", sorted(V3_BODIES))
def test_every_recorded_v3_body_parses_completely(fixtures_dir: Path, departure: str) -> None:
    raw = load(fixtures_dir, V3_BODIES[departure])
    response = parse_response("/aviasales/v3/prices_for_dates", raw)
    assert isinstance(response, PricesForDatesResponse)
    assert response.success is True and response.currency == "RUB"
    assert len(response.offers) == len(raw["data"]) == 20
    for ticket, item in zip(response.offers, raw["data"], strict=True):
        # Nothing is dropped or coerced: the model dumps back to the same values.
        assert ticket.model_dump(mode="json", exclude_none=True).keys() == item.keys()
        assert ticket.flight_number == item["flight_number"] and isinstance(ticket.flight_number, str)
        assert ticket.price == item["price"]
        assert ticket.departure_at.isoformat() == item["departure_at"]
        assert ticket.return_at is not None and ticket.return_at.isoformat() == item["return_at"]
        assert ticket.departure_at.date() == date.fromisoformat(departure)
        assert ticket.departure_at.utcoffset() == timedelta(hours=3)  # Moscow local time kept
        assert ticket.return_at.utcoffset() == timedelta(hours=4)  # Dubai local time kept
        assert ticket.is_round_trip and ticket.url.startswith("https://www.aviasales.ru/search/MOW")
        assert (ticket.origin, ticket.destination) == ("MOW", "DXB")
        assert ticket.origin_airport in {"SVO", "DME", "VKO"} and ticket.destination_airport in {"DXB", "DWC"}


def test_concrete_values_of_the_2025_12_13_body(fixtures_dir: Path) -> None:
    response = PricesForDatesResponse.model_validate(load(fixtures_dir, V3_BODIES["2025-12-13"]))
    first = response.offers[0]
    assert first.flight_number == "715" and first.airline == "UT" and first.price == 15687
    assert first.departure_at == datetime(2025, 12, 13, 8, 40, tzinfo=MSK)
    assert first.departure_at.astimezone(UTC) == datetime(2025, 12, 13, 5, 40, tzinfo=UTC)
    assert first.departure_at.astimezone(UTC).strftime("%H:%M") == "05:40"
    assert first.return_at == datetime(2025, 12, 18, 16, 25, tzinfo=GST)
    assert first.return_at.astimezone(UTC) == datetime(2025, 12, 18, 12, 25, tzinfo=UTC)
    assert (first.duration, first.duration_to, first.duration_back) == (670, 320, 350)
    assert (first.transfers, first.return_transfers) == (0, 0)
    assert first.search_date == date(2025, 12, 11)  # the recording day, from the link
    prices = [t.price for t in response.offers]
    assert (min(prices), max(prices)) == (15687, 29525)
    assert {t.airline for t in response.offers} >= {"SU", "S7", "U6", "UT"}


def test_duplicated_outbound_flights_with_different_returns_all_survive(fixtures_dir: Path) -> None:
    response = PricesForDatesResponse.model_validate(load(fixtures_dir, V3_BODIES["2025-12-12"]))
    ut715 = [t for t in response.offers if (t.airline, t.flight_number) == ("UT", "715")]
    assert len(ut715) == 9  # the same outbound flight, nine different return legs or prices
    assert len({t.departure_at for t in ut715}) == 1
    assert len({(t.return_at, t.price) for t in ut715}) == 9
    assert len({t.link for t in response.offers}) == 20  # the link tells every offer apart


def test_flight_number_keeps_leading_zeros(fixtures_dir: Path) -> None:
    item = dict(load(fixtures_dir, V3_BODIES["2025-12-13"])["data"][0], flight_number="099")
    response = PricesForDatesResponse.model_validate({"data": [item], "currency": "rub", "success": True})
    assert response.offers[0].flight_number == "099"
    assert response.offers[0].model_dump(mode="json")["flight_number"] == "099"


def test_one_way_offer_without_return_at(fixtures_dir: Path) -> None:
    item = dict(load(fixtures_dir, V3_BODIES["2025-12-14"])["data"][0])
    for key in ("return_at", "return_transfers", "duration_back"):
        item.pop(key)
    ticket = PricesForDatesResponse.model_validate({"data": [item], "success": True}).offers[0]
    assert ticket.return_at is None and not ticket.is_round_trip


def test_the_empty_past_date_body(fixtures_dir: Path) -> None:
    response = parse_response("/aviasales/v3/prices_for_dates", load(fixtures_dir, EMPTY_PAST))
    assert response.success is True and response.offers == [] and response.currency == "RUB"


@pytest.mark.parametrize("data", [None, {}])
def test_error_envelopes_mean_no_offers(data: Any) -> None:
    body = {"success": False, "data": data, "error": "Unauthorized"}
    for path in RESPONSE_MODELS:
        response = parse_response(path, body)
        assert response.success is False and response.offers == [] and response.error == "Unauthorized"


def test_naive_departure_is_rejected(fixtures_dir: Path) -> None:
    item = dict(load(fixtures_dir, V3_BODIES["2025-12-13"])["data"][0], departure_at="2025-12-13T08:40:00")
    with pytest.raises(ValidationError, match="departure_at"):
        PricesForDatesResponse.model_validate({"data": [item], "success": True})


def test_grouped_prices_documented_shape(fixtures_dir: Path) -> None:
    tickets = load(fixtures_dir, V3_BODIES["2025-12-14"])["data"]
    body = {"success": True, "currency": "RUB", "data": {"2025-12-14": tickets[0], "2025-12-15": tickets[1]}}
    response = parse_response("/aviasales/v3/grouped_prices", body)
    assert isinstance(response, GroupedPricesResponse)
    assert list(response.data) == ["2025-12-14", "2025-12-15"]
    assert [t.price for t in response.offers] == [tickets[0]["price"], tickets[1]["price"]]


def test_month_matrix_body(fixtures_dir: Path) -> None:
    raw = load(fixtures_dir, MONTH_MATRIX)
    response = parse_response("/v2/prices/month-matrix", raw)
    assert isinstance(response, MonthMatrixResponse)
    assert response.currency == "USD"  # echoed as "usd": normalised
    assert len(response.offers) == len(raw["data"]) == 30
    first = response.offers[0]
    assert (first.origin, first.destination, first.price, first.gate) == ("LED", "HKT", 261, "KupiBilet.ru")
    assert first.depart_date == date(2022, 1, 16)
    assert first.return_date is None and not first.is_round_trip  # "" means one-way
    assert first.found_at == datetime(2021, 12, 12, 13, 5, 30, tzinfo=UTC)  # "Z"
    assert (first.number_of_changes, first.duration, first.distance, first.trip_class) == (2, 1705, 8009, 0)


@pytest.mark.parametrize("name", [V2_LATEST, V2_WEEK_MATRIX])
def test_other_v2_envelopes_parse(fixtures_dir: Path, name: str) -> None:
    raw = load(fixtures_dir, name)
    response = GetLatestPricesResponse.model_validate(raw)
    assert len(response.offers) == len(raw["data"]) and response.currency == "USD"
    assert response.error is None  # "" is no error
    for offer, item in zip(response.offers, raw["data"], strict=True):
        assert offer.value == item["value"] and offer.depart_date.isoformat() == item["depart_date"]
        assert offer.found_at.tzinfo is not None


def test_v2_latest_found_at_without_zone_is_utc(fixtures_dir: Path) -> None:
    response = V2PricesResponse.model_validate(load(fixtures_dir, V2_LATEST))
    first = response.offers[0]
    assert first.found_at == datetime(2021, 12, 11, 16, 8, 22, tzinfo=UTC)  # "2021-12-11T16:08:22"
    assert first.return_date == date(2021, 12, 27) and first.is_round_trip


def test_v2_bare_data_array_with_trip_class_3(fixtures_dir: Path) -> None:
    items = load(fixtures_dir, V2_LATEST_BARE)
    response = GetLatestPricesResponse.model_validate({"success": True, "data": items, "currency": "rub"})
    assert len(response.offers) == 30
    assert {o.trip_class for o in response.offers} == {0, 1, 2, 3}
    iwa = next(o for o in response.offers if o.trip_class == 3)
    assert (iwa.origin, iwa.destination, iwa.value, iwa.distance) == ("IWA", "KGD", 3652, 1284)


@pytest.mark.parametrize(
    ("found_at", "expected"),
    [
        ("2024-01-18T05:32:03+03:00", datetime(2024, 1, 18, 2, 32, 3, tzinfo=UTC)),
        ("2024-01-18T05:32:03Z", datetime(2024, 1, 18, 5, 32, 3, tzinfo=UTC)),
        ("2024-01-18T05:32:03", datetime(2024, 1, 18, 5, 32, 3, tzinfo=UTC)),
        ("2024-01-18T05:32:03.250", datetime(2024, 1, 18, 5, 32, 3, 250000, tzinfo=UTC)),
    ],
)
def test_v2_found_at_spellings(fixtures_dir: Path, found_at: str, expected: datetime) -> None:
    item = dict(load(fixtures_dir, V2_LATEST_BARE)[0], found_at=found_at)
    offer = V2Price.model_validate(item)
    assert offer.found_at == expected
    if found_at.endswith("+03:00"):
        assert offer.found_at.utcoffset() == timedelta(hours=3)  # the offset is kept


def test_v2_unknown_distance_is_none(fixtures_dir: Path) -> None:
    item = dict(load(fixtures_dir, V2_LATEST_BARE)[0], distance=-1)
    assert V2Price.model_validate(item).distance is None


def test_currency_must_be_a_code() -> None:
    with pytest.raises(ValidationError, match="currency"):
        PricesForDatesResponse.model_validate({"success": True, "data": [], "currency": "roubles"})
