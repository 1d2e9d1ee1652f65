"""Offers -> the JSON the real API sends: v3 tickets and v2 items, key for key, in the recorded order.

Shapes follow the recorded bodies in shared/fixtures/aviasales/ (the contract test compares them
field by field). Prices are converted from RUB at fixed rates and rounded to whole units, like the
API's integer prices.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tickettrak.sandbox.geography import distance_km
from tickettrak.sandbox.market import Offer

# RUB per one unit of the currency (fixed: the sandbox must be deterministic).
RUB_PER_UNIT: dict[str, float] = {
    "rub": 1.0,
    "usd": 80.0,
    "eur": 92.0,
    "aed": 21.8,
    "kzt": 0.16,
    "byn": 24.5,
    "uah": 1.95,
    "try": 2.35,
    "gbp": 104.0,
    "cny": 11.1,
    "uzs": 0.0065,
    "amd": 0.205,
}

GATES = ("KupiBilet.ru", "Aviakassa", "OneTwoTrip", "Trip.com", "MEGO.travel", "Kupi.com", "Biletix")


def convert(price_rub: int, currency: str) -> int:
    """Price in the requested currency (lower-case code known to RUB_PER_UNIT), at least 1."""
    return max(round(price_rub / RUB_PER_UNIT[currency]), 1)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _ddmm(day: date) -> str:
    return day.strftime("%d%m")


def _leg_code(start: datetime, minutes: int, airports: tuple[str, ...]) -> str:
    """A leg inside the link's `t=`: departure and arrival unix times, 6-digit duration, airports."""
    departure = int(start.timestamp())
    return f"{departure}{departure + minutes * 60}{minutes:06d}{''.join(airports)}"


def link(offer: Offer, price: int, currency: str, as_of: date) -> str:
    """The relative deep link, shaped like the recordings' (`/search/MOW1212DXB17121?t=...`)."""
    path = f"/search/{offer.origin}{_ddmm(offer.depart_date)}{offer.destination}"
    if offer.return_date is not None:
        path += _ddmm(offer.return_date)
    path += "1"  # passengers
    validating = offer.back.carrier if offer.back else offer.out.carrier
    legs = _leg_code(offer.departure(), offer.out.elapsed_min, offer.out.airports)
    back_start = offer.return_departure()
    if offer.back is not None and back_start is not None:
        legs += _leg_code(back_start, offer.back.elapsed_min, offer.back.airports)
    quoted = offer.price + offer.price * 13 // 10000  # the recordings' t= price sits ~0.13 % above
    search_id = uuid.UUID(
        bytes=hashlib.md5(  # noqa: S324 - an id, not security
            f"{offer.origin}{offer.destination}{offer.depart_date}{offer.return_date}{as_of}".encode()
        ).digest()
    )
    return (
        f"{path}?t={validating}{legs}_{offer.token}_{quoted}"
        f"&search_date={offer.search_date.strftime('%d%m%Y')}"
        f"&expected_price_uuid={search_id}&expected_price_source=share"
        f"&expected_price_currency={currency}&expected_price={price}"
    )


def v3_ticket(offer: Offer, currency: str, as_of: date) -> dict[str, Any]:
    """One v3 ticket (prices_for_dates / grouped_prices), keys in the recorded order.

    One-way tickets have no `return_at` (the docs: "may be absent for one-way") but keep the
    other keys with zero return values, as the API does.
    """
    price = convert(offer.price, currency)
    ticket: dict[str, Any] = {
        "flight_number": offer.out.number,
        "link": link(offer, price, currency, as_of),
        "origin_airport": offer.out.origin,
        "destination_airport": offer.out.destination,
        "departure_at": _iso(offer.departure()),
        "airline": offer.out.carrier,
        "destination": offer.destination,
    }
    back_start = offer.return_departure()
    if back_start is not None:
        ticket["return_at"] = _iso(back_start)
    ticket.update(
        {
            "origin": offer.origin,
            "price": price,
            "return_transfers": offer.return_transfers,
            "duration": offer.duration,
            "duration_to": offer.duration_to,
            "duration_back": offer.duration_back,
            "transfers": offer.transfers,
        }
    )
    return ticket


def found_at(offer: Offer) -> str:
    """When the search happened: the search day at a stable time of day, UTC with `Z`."""
    seconds = int(offer.token[:8], 16) % 86_400
    moment = datetime(
        offer.search_date.year, offer.search_date.month, offer.search_date.day, tzinfo=UTC
    ) + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def v2_item(offer: Offer, currency: str) -> dict[str, Any]:
    """One v2-named item (get_latest_prices, month-matrix), keys in the recorded month-matrix order."""
    return {
        "value": convert(offer.price, currency),
        "trip_class": 0,
        "show_to_affiliates": True,
        "origin": offer.origin,
        "destination": offer.destination,
        "gate": GATES[int(offer.token[8:12], 16) % len(GATES)],
        "depart_date": offer.depart_date.isoformat(),
        "return_date": offer.return_date.isoformat() if offer.return_date else "",
        "number_of_changes": offer.transfers,
        "found_at": found_at(offer),
        "duration": offer.duration,
        "distance": distance_km(offer.origin, offer.destination),
        "actual": True,
    }
