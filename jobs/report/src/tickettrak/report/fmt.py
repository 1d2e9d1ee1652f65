"""How numbers, routes and dates read in the report (HTML and terminal alike)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

TRIP_TYPES = ("round_trip", "one_way")
TRIP_LABEL = {"one_way": "one way", "round_trip": "round trip"}
STOPS_LABEL = {"all": "all offers", "direct": "direct", "with_stops": "with stops"}
BUCKET_ORDER = ("90+", "60-89", "30-59", "14-29", "7-13", "0-6")  # far from departure -> near
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def price(value: Any) -> str:
    """15687.00 -> '15 687' (thin-space thousands; prices are whole units in practice)."""
    if value is None:
        return "—"
    return f"{Decimal(value):,.0f}".replace(",", "\u202f")


def ratio(value: Any) -> str:
    """A relative price: 1.0735 -> '1.07'."""
    return "—" if value is None else f"{Decimal(value):.2f}"


def percent(value: Any) -> str:
    """A percentile 0..1: 0.4200 -> '42%'."""
    return "—" if value is None else f"{Decimal(value) * 100:.0f}%"


def count(value: Any) -> str:
    return f"{int(value):,}".replace(",", "\u202f")


def route(origin: str, destination: str) -> str:
    return f"{origin} → {destination}"


def month(value: date) -> str:
    return value.strftime("%b %Y")


def day(value: date) -> str:
    return value.isoformat()


def raw(value: Any) -> str:
    """The value exactly as the mart holds it (for data-value attributes and exports)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
