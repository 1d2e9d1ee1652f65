"""Pydantic models of the Aviasales Data API responses TicketTrak reads.

Shapes come from the real recorded bodies in `shared/fixtures/aviasales/` (they win over the docs):

- v3 (`/aviasales/v3/prices_for_dates`, `/aviasales/v3/grouped_prices`): tickets with
  `flight_number` as a *string* ("099" keeps its zero), `departure_at` / `return_at` with the
  airport's local offset (kept: the datetime stays aware, `.astimezone(UTC)` gives the instant),
  `return_at` absent for one-way searches, the deep `link` carrying `search_date=DDMMYYYY`.
- v2 item shape (`/aviasales/v3/get_latest_prices`, `/v2/prices/latest`, `/v2/prices/month-matrix`,
  `/v2/prices/week-matrix`): `value` is the price, `return_date` is `""` for one-way, `found_at`
  comes with an offset, with `Z` or with no zone at all, `distance` is -1 when unknown and
  `trip_class` takes values (3) beyond the documented 0/1/2.

The envelope's `currency` echoes the case the caller sent ("rub", "USD"): it is normalised to
upper case. On an API error `data` is `{}` or `null`; the models read that as "no offers".

Models ignore fields they do not know: RAW keeps every body unchanged, so nothing is lost, and an
upstream addition does not break the loader. They are frozen (values, not records to edit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from tickettrak.common.endpoints import BY_PATH

AVIASALES_WEB = "https://www.aviasales.ru"
_SEARCH_DATE = re.compile(r"[?&]search_date=(\d{2})(\d{2})(\d{4})(?:&|$)")


def _no_offers(value: Any) -> Any:
    """`data` is `{}` or `null` on an API error: read both as "no offers"."""
    return [] if value is None or value == {} else value


def _no_groups(value: Any) -> Any:
    return {} if value is None or value == [] else value


def _upper_currency(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _assume_utc(value: Any) -> Any:
    """v2 `found_at` sometimes has no zone; the API's other spellings of it are UTC (`Z`), so
    a bare timestamp is read as UTC rather than rejected or silently left naive."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?", value):
        return value + "+00:00"
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _empty_is_none(value: Any) -> Any:
    return None if value == "" else value


Currency = Annotated[str, BeforeValidator(_upper_currency), Field(pattern=r"^[A-Z]{3}$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


# --- v3 ------------------------------------------------------------------------------------------
class V3Ticket(_Model):
    """One offer of `/aviasales/v3/prices_for_dates` (and a group's value in `grouped_prices`)."""

    origin: str
    destination: str
    origin_airport: str | None = None
    destination_airport: str | None = None
    price: int  # round-trip total when the search had return_at; collection currency
    airline: str  # outbound carrier only
    flight_number: str  # a string on purpose: "099" is not 99
    departure_at: AwareDatetime  # local offset of the departure airport, kept
    return_at: AwareDatetime | None = None  # absent for one-way searches
    transfers: int
    return_transfers: int | None = None
    duration: int | None = None  # minutes, both legs
    duration_to: int | None = None
    duration_back: int | None = None
    link: str  # relative deep link; carries search_date=DDMMYYYY

    @property
    def is_round_trip(self) -> bool:
        return self.return_at is not None

    @property
    def search_date(self) -> date | None:
        """The day Aviasales saw this price (`search_date=DDMMYYYY` in the link), if present."""
        match = _SEARCH_DATE.search(self.link)
        if match is None:
            return None
        day, month, year = (int(g) for g in match.groups())
        try:
            return date(year, month, day)
        except ValueError:
            return None

    @property
    def url(self) -> str:
        return AVIASALES_WEB + self.link if self.link.startswith("/") else self.link


class PricesForDatesResponse(_Model):
    """`GET /aviasales/v3/prices_for_dates`: `{"data": [...], "currency": "rub", "success": true}`."""

    success: bool
    data: Annotated[list[V3Ticket], BeforeValidator(_no_offers)] = Field(default_factory=list)
    currency: Currency | None = None
    error: str | None = None

    @property
    def offers(self) -> list[V3Ticket]:
        return list(self.data)


class GroupedPricesResponse(_Model):
    """`GET /aviasales/v3/grouped_prices`: `data` maps a group (a date or a month) to its ticket.

    No recorded body exists; the shape follows the API documentation.
    """

    success: bool
    data: Annotated[dict[str, V3Ticket], BeforeValidator(_no_groups)] = Field(default_factory=dict)
    currency: Currency | None = None
    error: str | None = None

    @property
    def offers(self) -> list[V3Ticket]:
        return list(self.data.values())


# --- v2 item shape -------------------------------------------------------------------------------
class V2Price(_Model):
    """One item of the v2-shaped endpoints (`get_latest_prices`, `/v2/prices/latest`, month/week matrix)."""

    origin: str
    destination: str
    value: int  # the price, collection currency
    depart_date: date
    return_date: Annotated[date | None, BeforeValidator(_empty_is_none)] = None  # "" = one-way
    number_of_changes: int
    found_at: Annotated[AwareDatetime, BeforeValidator(_assume_utc)]
    trip_class: int  # 0 economy, 1 business, 2 first; 3 is seen in real data and kept
    distance: int | None = None  # km; the API's -1 ("unknown") becomes None
    duration: int | None = None  # minutes; real bodies carry it although the docs do not
    gate: str | None = None
    actual: bool | None = None
    show_to_affiliates: bool | None = None

    @field_validator("distance", mode="before")
    @classmethod
    def _unknown_distance(cls, value: Any) -> Any:
        return None if value in (-1, "-1") else value

    @property
    def price(self) -> int:
        return self.value

    @property
    def is_round_trip(self) -> bool:
        return self.return_date is not None


class V2PricesResponse(_Model):
    """The v2 envelope: `{"success": true, "data": [...], "currency": "usd", "error": ""}`."""

    success: bool
    data: Annotated[list[V2Price], BeforeValidator(_no_offers)] = Field(default_factory=list)
    currency: Currency | None = None
    error: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _empty_error(cls, value: Any) -> Any:
        return _empty_is_none(value)

    @property
    def offers(self) -> list[V2Price]:
        return list(self.data)


class GetLatestPricesResponse(V2PricesResponse):
    """`GET /aviasales/v3/get_latest_prices` (v2 item names under a v3 path). No recorded body exists."""


class MonthMatrixResponse(V2PricesResponse):
    """`GET /v2/prices/month-matrix`."""


AnyResponse = PricesForDatesResponse | GroupedPricesResponse | GetLatestPricesResponse | MonthMatrixResponse

RESPONSE_MODELS: dict[str, type[AnyResponse]] = {
    "/aviasales/v3/prices_for_dates": PricesForDatesResponse,
    "/aviasales/v3/grouped_prices": GroupedPricesResponse,
    "/aviasales/v3/get_latest_prices": GetLatestPricesResponse,
    "/v2/prices/month-matrix": MonthMatrixResponse,
}


class UnknownEndpointError(KeyError):
    """No model for this path (the registry in `endpoints.py` and the models disagree)."""


def parse_response(path: str, body: Mapping[str, Any]) -> AnyResponse:
    """Validate a response body of the endpoint at `path` (raises `pydantic.ValidationError`)."""
    model = RESPONSE_MODELS.get(path)
    if model is None:
        raise UnknownEndpointError(path)
    return model.model_validate(body)


# Every registered endpoint has a model: a new endpoint without one fails at import, not at load.
if set(RESPONSE_MODELS) != set(BY_PATH):
    raise RuntimeError("endpoints.py and models.py disagree on the endpoints")
