"""One RAW document -> one request_logs row, its ticket rows and its quarantined fragments.

Pure functions (no I/O), so every rule about the API's shapes is unit-tested against the recorded
bodies. Anything that cannot become a typed row becomes a `Quarantined` with a stable reason code;
nothing is dropped silently.

Offer identity (`offer_id`, with `observed_date` the key of aviasales.tickets): an offer is one
seller's proposal for one itinerary, both legs included: route, airports, carrier, flight, both
instants, transfers, durations, price and the link's `t=` itinerary token. The endpoint is not part
of it, so prices_for_dates and grouped_prices reporting the same proposal on one day are one row.
The price is part of it because real bodies list the very same flights twice at two prices (two
sellers): those are two offers, not an update of one.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

from tickettrak.common.endpoints import BY_PATH
from tickettrak.loader.currencies import KNOWN_CURRENCIES

DEEP_LINK_HOST = "https://www.aviasales.ru"
DEFAULT_CURRENCY = "rub"  # the API's documented default when neither body nor request names one
_ITINERARY = re.compile(r"[?&]t=([^&]+)")
_FRAGMENT_TEXT_LIMIT = 2000
_CENT = Decimal("0.01")
# Offer dates outside this window are not prices anyone can fly at: quarantined (date_out_of_range).
# It also keeps every instant far inside PostgreSQL's timestamptz range, whose overflow (a year-1
# local time east of UTC is before year 1 in UTC) would otherwise fail the whole batch's COPY.
FIRST_YEAR, LAST_YEAR = 1990, 2100


class Reason:
    """Stable quarantine reason codes (the `reason` column of aviasales.load_errors)."""

    TRANSPORT_ERROR = "transport_error"
    ERROR_RESPONSE = "error_response"
    EMPTY_BODY = "empty_body"
    NON_JSON_BODY = "non_json_body"
    UNKNOWN_ENDPOINT = "unknown_endpoint"
    UNEXPECTED_SHAPE = "unexpected_shape"
    MISSING_FIELD = "missing_field"
    MISTYPED_FIELD = "mistyped_field"
    INVALID_DATETIME = "invalid_datetime"
    NEGATIVE_PRICE = "negative_price"
    ZERO_PRICE = "zero_price"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    RETURN_BEFORE_DEPARTURE = "return_before_departure"
    UNKNOWN_CURRENCY = "unknown_currency"
    BAD_DOCUMENT = "bad_document"


@dataclass(slots=True)
class Quarantined:
    raw_id: str
    raw_seq: int | None
    item_path: str  # '' = the whole document
    reason: str
    detail: str
    fragment: Any = None  # JSON-able fragment
    fragment_text: str | None = None


class ItemError(Exception):
    """An offer that cannot become a row; carries the reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# Column order of the COPY into the staging tables (writer.py uses the same tuples).
REQUEST_LOG_COLUMNS = (
    "raw_id", "raw_seq", "schema_version", "request_id", "request_key", "endpoint",
    "origin", "destination", "departure_at", "return_at", "one_way", "direct", "currency", "market",
    "limit", "page", "query", "http_status", "body_format", "success", "error", "offers_count",
    "requested_at", "received_at", "duration_ms", "written_at", "run_id", "logical_date", "raw",
)  # fmt: skip
TICKET_COLUMNS = (
    "observed_date", "offer_id", "trip_type", "endpoint", "shape", "raw_id", "raw_seq", "item_path",
    "origin", "destination", "origin_airport", "destination_airport", "airline", "flight_number",
    "departure_at", "return_at", "departure_date", "return_date", "price", "currency",
    "transfers", "return_transfers", "duration", "duration_to", "duration_back",
    "gate", "trip_class", "distance", "link", "deep_link", "search_date", "found_at",
)  # fmt: skip


@dataclass(slots=True)
class ParsedDocument:
    raw_id: str
    raw_seq: int
    request_log: tuple[Any, ...]
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[Quarantined] = field(default_factory=list)


# ---------------------------------------------------------------- small typed readers


def _utc(value: Any) -> datetime | None:
    """RAW datetimes: montydb returns naive ones (they are UTC), pymongo aware ones."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            # Year 1 east of UTC is before year 1 in UTC: not representable (nor in PostgreSQL).
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    return None


def _bool_param(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    return None


INT4 = 2**31  # integer columns: a value outside int4 would fail the whole batch's COPY


def _int_param(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and -INT4 < value < INT4:
        return int(value)
    return None


def _str_param(value: Any) -> str | None:
    return clean_text(value) if isinstance(value, str) and value != "" else None


def clean_text(value: str) -> str:
    """PostgreSQL text cannot hold NUL (it would fail the batch's COPY); it only comes with garbage."""
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _logical_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # ObjectId, Decimal128, Int64 ...


def to_json(value: Any) -> str:
    # orjson: the whole RAW document per request_logs row is the loader's biggest serialisation;
    # it writes naive datetimes as UTC (montydb's), NaN/Infinity as null (jsonb cannot hold them).
    # What it refuses (ints beyond 64 bits, lone surrogates, nesting past 254) takes the json path.
    try:
        text = orjson.dumps(value, default=_json_default, option=orjson.OPT_NAIVE_UTC).decode()
    except TypeError:
        text = _stdlib_json(value)
    # jsonb cannot hold U+0000; it only ever shows up in garbage bodies, which stay readable as U+FFFD.
    return text.replace("\\u0000", "\\ufffd") if "\\u0000" in text else text


def _stdlib_json(value: Any) -> str:
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False, allow_nan=False)
    except ValueError:  # NaN/Infinity (BSON can hold them, jsonb cannot): write them as null
        return json.dumps(_finite(value), default=_json_default, ensure_ascii=False, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# ---------------------------------------------------------------- the document


def parse_document(doc: dict[str, Any]) -> ParsedDocument:
    """Everything one RAW document yields. Never raises for bad content."""
    raw_id = clean_text(str(doc.get("_id")))
    raw_seq = doc.get("seq")
    if not isinstance(raw_seq, int) or isinstance(raw_seq, bool):
        raise ValueError(f"RAW document {raw_id} has no integer seq")  # cannot be read by seq at all
    request = _dict(doc.get("request"))
    query = _dict(request.get("query"))
    response = _dict(doc.get("response"))
    timing = _dict(doc.get("timing"))
    endpoint = doc.get("endpoint") if isinstance(doc.get("endpoint"), str) else None
    requested_at = _utc(timing.get("requested_at"))
    logical = _logical_date(doc.get("logical_date"))
    observed = logical or (requested_at.date() if requested_at else None) or _observed_fallback(doc)
    errors: list[Quarantined] = []

    def quarantine(
        path: str, reason: str, detail: str, fragment: Any = None, text: str | None = None
    ) -> None:
        errors.append(Quarantined(raw_id, raw_seq, path, reason, detail, fragment, text))

    body, error_text, success = _read_body(response, quarantine)
    offers: list[tuple[str, Any]] = []
    shape = BY_PATH[endpoint].shape if endpoint in BY_PATH else None
    if success and body is not None:
        if shape is None:
            quarantine(
                "", Reason.UNKNOWN_ENDPOINT, f"no loader for endpoint {endpoint!r}", {"endpoint": endpoint}
            )
        else:
            try:
                offers = list(_offers(body, shape))
            except ItemError as error:
                quarantine("", error.reason, error.detail, _clip(body))
    tickets: list[tuple[Any, ...]] = []
    if offers and shape is not None and endpoint is not None:
        currency = _currency(body, query)
        if currency not in KNOWN_CURRENCIES:
            detail = f"currency {currency!r} is not an ISO-4217 code we know"
            quarantine("", Reason.UNKNOWN_CURRENCY, detail, {"currency": currency})
        elif observed is None:
            quarantine(
                "", Reason.BAD_DOCUMENT, "no logical_date, requested_at or written_at", {"timing": timing}
            )
        else:
            ctx = _Context(raw_id, raw_seq, endpoint, shape, observed, currency, query)
            for path, item in offers:
                try:
                    tickets.append(_ticket(item, path, ctx))
                except ItemError as error:
                    quarantine(path, error.reason, error.detail, _clip(item))
    received_at = _utc(timing.get("received_at"))
    duration = timing.get("duration_ms")
    request_log = (
        raw_id, raw_seq, _int_param(doc.get("schema_version")), _str_param(doc.get("request_id")),
        _str_param(doc.get("request_key")), endpoint,
        _str_param(query.get("origin")), _str_param(query.get("destination")),
        _str_param(query.get("departure_at")), _str_param(query.get("return_at")),
        _bool_param(query.get("one_way")), _bool_param(query.get("direct")),
        (_str_param(query.get("currency")) or "").lower() or None, _str_param(query.get("market")),
        _int_param(query.get("limit")), _int_param(query.get("page")), to_json(query),
        _int_param(response.get("status")), _str_param(response.get("body_format")), success,
        clean_text(error_text) if error_text else None,
        len(offers) if success and shape is not None and body is not None else None,
        requested_at, received_at,
        float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None,
        _utc(doc.get("written_at")), _str_param(doc.get("run_id")), logical, to_json(doc),
    )  # fmt: skip
    return ParsedDocument(raw_id, raw_seq, request_log, tickets, errors)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _observed_fallback(doc: dict[str, Any]) -> date | None:
    written = _utc(doc.get("written_at"))
    return written.date() if written else None


def _clip(value: Any) -> Any:
    """Fragments are for people: keep them small (a whole 1000-offer body is not a fragment)."""
    text = to_json(value)
    if len(text) <= _FRAGMENT_TEXT_LIMIT * 4:
        return value
    return {"truncated": True, "prefix": text[:_FRAGMENT_TEXT_LIMIT]}


def _read_body(response: dict[str, Any], quarantine: Any) -> tuple[Any, str | None, bool]:
    """(parsed body or None, error text, success). Quarantines the document-level failures."""
    status = _int_param(response.get("status"))
    fmt = response.get("body_format")
    transport = response.get("error")
    text = response.get("body_text") if isinstance(response.get("body_text"), str) else None
    if status is None:
        detail = str(transport) if transport else "no HTTP status and no transport error"
        quarantine("", Reason.TRANSPORT_ERROR, detail, {"status": None, "error": transport})
        return None, detail, False
    body: Any = None
    if fmt == "json":
        body = response.get("body")
    elif fmt == "json_text" and text is not None:
        try:
            body = json.loads(text)
        except ValueError:
            quarantine(
                "",
                Reason.NON_JSON_BODY,
                "body_format json_text but the text is not JSON",
                None,
                text[:_FRAGMENT_TEXT_LIMIT],
            )
            return None, f"HTTP {status}: body is not JSON", False
    elif fmt in ("text", "json_text"):
        quarantine(
            "",
            Reason.NON_JSON_BODY,
            f"HTTP {status} with a non-JSON body",
            None,
            (text or "")[:_FRAGMENT_TEXT_LIMIT],
        )
        return None, f"HTTP {status}: body is not JSON", False
    else:  # empty / none / unknown format
        quarantine(
            "",
            Reason.EMPTY_BODY,
            f"HTTP {status} with body_format {fmt!r}",
            {"status": status, "body_format": fmt},
        )
        return None, f"HTTP {status}: empty body", False
    api_error = _api_error(body)
    if not 200 <= status < 300 or (isinstance(body, dict) and body.get("success") is False):
        detail = f"HTTP {status}" + (f": {api_error}" if api_error else "")
        quarantine("", Reason.ERROR_RESPONSE, detail, _clip(body))
        return body, detail, False
    return body, api_error, True


def _api_error(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("error", "message", "errors"):
            value = body.get(key)
            if value:
                return value if isinstance(value, str) else to_json(value)
    return None


def _currency(body: Any, query: dict[str, Any]) -> str:
    if isinstance(body, dict) and isinstance(body.get("currency"), str) and body["currency"]:
        return str(body["currency"]).lower()
    requested = query.get("currency")
    return requested.lower() if isinstance(requested, str) and requested else DEFAULT_CURRENCY


def _offers(body: Any, shape: str) -> Iterator[tuple[str, Any]]:
    """(item_path, item) for every offer the body holds, per the endpoint's shape."""
    data = body.get("data") if isinstance(body, dict) else body  # some v2 recordings are bare lists
    if isinstance(body, dict) and "data" not in body:
        raise ItemError(Reason.UNEXPECTED_SHAPE, "successful body without a `data` field")
    if data is None:
        return
    if shape == "v3_grouped":
        if isinstance(data, list) and not data:
            return
        if not isinstance(data, dict):
            raise ItemError(
                Reason.UNEXPECTED_SHAPE, f"grouped data should be an object, got {type(data).__name__}"
            )
        for group, value in data.items():
            if isinstance(value, list):  # tolerate a list of tickets per group
                for index, item in enumerate(value):
                    yield clean_text(f"data.{group}[{index}]"), item
            else:
                yield clean_text(f"data.{group}"), value
        return
    if not isinstance(data, list):
        raise ItemError(Reason.UNEXPECTED_SHAPE, f"data should be a list, got {type(data).__name__}")
    for index, item in enumerate(data):
        yield f"data[{index}]", item


# ---------------------------------------------------------------- one offer


@dataclass(frozen=True, slots=True)
class _Context:
    raw_id: str
    raw_seq: int
    endpoint: str
    shape: str
    observed: date
    currency: str
    query: dict[str, Any]


def _ticket(item: Any, path: str, ctx: _Context) -> tuple[Any, ...]:
    if not isinstance(item, dict):
        raise ItemError(Reason.MISTYPED_FIELD, f"offer should be an object, got {type(item).__name__}")
    if ctx.shape == "v2_list":
        return _v2_ticket(item, path, ctx)
    return _v3_ticket(item, path, ctx)


def _v3_ticket(item: dict[str, Any], path: str, ctx: _Context) -> tuple[Any, ...]:
    # The hot path of the loader (one call per offer). Each field takes an inline fast path for
    # the normal value (exact type, no NUL, in range) and falls back to the checking reader,
    # which raises the quarantine reason, for anything else.
    get = item.get
    origin = get("origin")
    if type(origin) is not str or not origin or "\x00" in origin:
        origin = _code(item, "origin", ctx)
    destination = get("destination")
    if type(destination) is not str or not destination or "\x00" in destination:
        destination = _code(item, "destination", ctx)
    price = get("price")
    if type(price) is not int or not 0 < price < _PRICE_LIMIT:
        price = _price(item, "price")
    departure_text = get("departure_at")
    if type(departure_text) is not str or "\x00" in departure_text:
        departure_text = _required(item, "departure_at", str)
    departure_at = _instant(departure_text, "departure_at")
    return_text = _opt_str(item, "return_at") or None
    return_at = _instant(return_text, "return_at") if return_text else None
    if return_at is not None and return_at < departure_at:
        raise ItemError(
            Reason.RETURN_BEFORE_DEPARTURE, f"return_at {return_text} is before departure_at {departure_text}"
        )
    flight_number = get("flight_number")
    if flight_number is not None and type(flight_number) is not str:
        if not isinstance(flight_number, int) or isinstance(flight_number, bool):
            raise ItemError(Reason.MISTYPED_FIELD, "flight_number should be a string")
        flight_number = str(flight_number)  # v1-style integer: kept as text
    elif flight_number is not None and "\x00" in flight_number:
        flight_number = clean_text(flight_number)
    texts = [get(key) for key in _V3_TEXTS]
    for index, value in enumerate(texts):
        if value is not None and (type(value) is not str or "\x00" in value):
            texts[index] = _opt_str(item, _V3_TEXTS[index])
    origin_airport, destination_airport, airline, link = texts
    numbers = [get(key) for key in _V3_INTS]
    for index, value in enumerate(numbers):
        if value is not None and (type(value) is not int or not -INT4 < value < INT4):
            numbers[index] = _opt_int(item, _V3_INTS[index])
    transfers, return_transfers, duration, duration_to, duration_back = numbers
    trip_type = "round_trip" if return_at is not None else "one_way"
    returns = int(return_at.timestamp()) if return_at is not None else ""
    identity = (
        f"v3|{trip_type}|{origin}|{destination}|{origin_airport}|{destination_airport}|{airline}|{flight_number}"
        f"|{int(departure_at.timestamp())}|{returns}|{transfers}|{return_transfers}|{duration}|{duration_to}"
        f"|{duration_back}|{price}|{_itinerary(link)}"
    )
    return (
        ctx.observed, _digest(identity), trip_type, ctx.endpoint, ctx.shape, ctx.raw_id, ctx.raw_seq, path,
        origin, destination, origin_airport, destination_airport, airline, flight_number,
        departure_at, return_at, departure_at.date(), return_at.date() if return_at else None,
        price, ctx.currency, transfers, return_transfers,
        duration, duration_to, duration_back,
        None, None, None, link, _deep_link(link), _search_date(link), None,
    )  # fmt: skip


_V3_TEXTS = ("origin_airport", "destination_airport", "airline", "link")
_V3_INTS = ("transfers", "return_transfers", "duration", "duration_to", "duration_back")
_PRICE_LIMIT = 10**12


def _opt_str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if type(value) is str:
        return value if "\x00" not in value else clean_text(value)
    raise ItemError(Reason.MISTYPED_FIELD, f"{key} should be a string, got {type(value).__name__}")


def _opt_int(item: dict[str, Any], key: str) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # int, or bson's Int64
        if -INT4 < value < INT4:
            return int(value)
        raise ItemError(Reason.MISTYPED_FIELD, f"{key} {value} is out of range")
    raise ItemError(Reason.MISTYPED_FIELD, f"{key} should be an integer, got {type(value).__name__}")


def _v2_ticket(item: dict[str, Any], path: str, ctx: _Context) -> tuple[Any, ...]:
    origin = _code(item, "origin", ctx)
    destination = _code(item, "destination", ctx)
    price = _price(item, "value")
    departure_date = _date(_required(item, "depart_date", str), "depart_date")
    return_text = _optional(item, "return_date", str) or None
    return_date = _date(return_text, "return_date") if return_text else None
    if return_date is not None and return_date < departure_date:
        raise ItemError(Reason.RETURN_BEFORE_DEPARTURE, f"return_date {return_text} is before depart_date")
    found_text = _optional(item, "found_at", str)
    found_at = _instant(found_text, "found_at", naive_is_utc=True) if found_text else None
    transfers = _optional(item, "number_of_changes", int)
    gate = _optional(item, "gate", str)
    airline = _optional(item, "airline", str)
    flight_number = item.get("flight_number")
    flight = (
        str(flight_number)
        if isinstance(flight_number, str | int) and not isinstance(flight_number, bool)
        else None
    )
    trip_class = _optional(item, "trip_class", int)
    duration = _optional(item, "duration", int)
    trip_type = "round_trip" if return_date is not None else "one_way"
    identity = "|".join(
        str(part)
        for part in ("v2", trip_type, origin, destination, departure_date, return_date or "", transfers, gate,
                     airline, flight, trip_class, duration, price)
    )  # fmt: skip
    link = _optional(item, "link", str)
    return (
        ctx.observed, _digest(identity), trip_type, ctx.endpoint, ctx.shape, ctx.raw_id, ctx.raw_seq, path,
        origin, destination, None, None, airline, flight,
        None, None, departure_date, return_date, price, ctx.currency, transfers, None,
        duration, None, None, gate, trip_class, _optional(item, "distance", int),
        link, _deep_link(link), _search_date(link), found_at,
    )  # fmt: skip


def _itinerary(link: str | None) -> str:
    """The `t=` token of a v3 deep link: every segment (carrier, times, airports) of both legs plus
    the seller's proposal. Two rows of one body can share flights, times and durations and differ
    only here (another return routing, another seller's price)."""
    if not link:
        return ""
    match = _ITINERARY.search(link)
    return match.group(1) if match else link


def _digest(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def _required(item: dict[str, Any], key: str, kind: type) -> Any:
    if key not in item or item[key] is None:
        raise ItemError(Reason.MISSING_FIELD, f"{key} is missing")
    return _optional(item, key, kind)


def _optional(item: dict[str, Any], key: str, kind: type) -> Any:
    return _opt_str(item, key) if kind is str else _opt_int(item, key)


def _code(item: dict[str, Any], key: str, ctx: _Context) -> str:
    # Items normally repeat the route; fall back to the request's when an endpoint leaves it out.
    value = item.get(key)
    if value is None:
        value = ctx.query.get(key)
        if not isinstance(value, str) or not value:
            raise ItemError(Reason.MISSING_FIELD, f"{key} is missing")
    if not isinstance(value, str) or not value:
        raise ItemError(Reason.MISTYPED_FIELD, f"{key} should be a non-empty string")
    return clean_text(value)


def _price(item: dict[str, Any], key: str) -> int | Decimal:
    value = item.get(key)
    if value is None:
        raise ItemError(Reason.MISSING_FIELD, f"{key} is missing")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ItemError(Reason.MISTYPED_FIELD, f"{key} should be a number, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ItemError(Reason.MISTYPED_FIELD, f"{key} is {value}")
    # numeric(14,2): exact values; a float price keeps its printed digits, rounded to cents. The
    # range is checked on the value stored (0.004 rounds to 0; 999999999999.995 overflows).
    price = int(value) if type(value) is not float else Decimal(repr(value)).quantize(_CENT)
    if price <= 0:
        raise ItemError(Reason.NEGATIVE_PRICE if value < 0 else Reason.ZERO_PRICE, f"{key} is {value}")
    if price >= _PRICE_LIMIT:
        raise ItemError(Reason.MISTYPED_FIELD, f"{key} {value} is out of range")
    return price


def _instant(text: str, key: str, *, naive_is_utc: bool = False) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ItemError(Reason.INVALID_DATETIME, f"{key} {text!r} is not an ISO-8601 date-time") from None
    if value.tzinfo is None:
        if not naive_is_utc:  # a local time without its offset is not an instant: refuse to guess
            raise ItemError(Reason.INVALID_DATETIME, f"{key} {text!r} has no UTC offset")
        value = value.replace(tzinfo=UTC)
    if not FIRST_YEAR <= value.year <= LAST_YEAR:  # the local year: checked before any UTC arithmetic
        raise _out_of_range(key, text)
    return value


def _date(text: str, key: str) -> date:
    try:
        value = date.fromisoformat(text[:10])
    except ValueError:
        raise ItemError(Reason.INVALID_DATETIME, f"{key} {text!r} is not a date") from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise _out_of_range(key, text)
    return value


def _out_of_range(key: str, text: str) -> ItemError:
    return ItemError(
        Reason.DATE_OUT_OF_RANGE, f"{key} {text!r} is outside {FIRST_YEAR}-01-01..{LAST_YEAR}-12-31"
    )


def _deep_link(link: str | None) -> str | None:
    if not link:
        return None
    return link if link.startswith("http") else DEEP_LINK_HOST + link


def _search_date(link: str | None) -> date | None:
    if not link:
        return None
    at = link.find("search_date=")
    digits = link[at + 12 : at + 20] if at >= 0 else ""
    if len(digits) != 8 or not digits.isdigit():
        return None
    try:
        return date(int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    except ValueError:
        return None
