"""The routes configuration: which routes, dates, trips and endpoints a collection covers.

Read from YAML (the documented default ships as `routes.yaml` next to this module) and validated
with pydantic. Every mistake stops the run at start with one line naming the field, e.g.
`routes.yaml: horizon.daily_days: must be >= 0`, before any request is sent.
"""

from __future__ import annotations

import math
import re
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tickettrak.collector.query_params import param_problems
from tickettrak.common.endpoints import ENDPOINTS, TOKEN_PARAMS

DEFAULT_ROUTES_FILE = "routes.yaml"

# City codes this project knows on each side (Aviasales city codes, not airports: MOW covers
# SVO/DME/VKO/ZIA). A typo such as "MSW" would silently collect nothing, so unknown codes are
# refused unless `routes.allow_unknown_codes: true` says the caller knows better.
RUSSIAN_CITIES = frozenset(
    {"MOW", "LED", "KZN", "SVX", "AER", "OVB", "KRR", "UFA", "ROV", "KUF", "KJA", "IKT", "VVO",
     "KHV", "CEK", "PEE", "TJM", "MRV", "MCX", "KGD", "OMS", "VOG", "GOJ", "UUD", "YKS", "SGC"}
)  # fmt: skip
UAE_CITIES = frozenset({"DXB", "AUH", "SHJ", "RKT"})
IATA_CITY = re.compile(r"[A-Z]{3}")

Trip = Literal["one_way", "round_trip"]
Departures = Literal["daily", "monthly"]


class RoutesConfigError(Exception):
    """The routes file is missing, not YAML, or invalid; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Routes(_Strict):
    """Origins x destinations; with `both_directions` each pair is also collected in reverse."""

    origins: list[str] = Field(min_length=1)
    destinations: list[str] = Field(min_length=1)
    both_directions: bool = True
    allow_unknown_codes: bool = False

    @model_validator(mode="after")
    def _codes(self) -> Routes:
        for side, codes in (("origins", self.origins), ("destinations", self.destinations)):
            for i, code in enumerate(codes):
                if not IATA_CITY.fullmatch(code):
                    raise ValueError(f"{side}[{i}]: {code!r} is not an IATA city code (3 capital letters)")
                if not self.allow_unknown_codes and code not in RUSSIAN_CITIES | UAE_CITIES:
                    raise ValueError(
                        f"{side}[{i}]: unknown city code {code!r} (known: Russia "
                        f"{', '.join(sorted(RUSSIAN_CITIES))}; UAE {', '.join(sorted(UAE_CITIES))}; "
                        "set routes.allow_unknown_codes: true to use it anyway)"
                    )
            if len(set(codes)) != len(codes):
                raise ValueError(f"{side}: a code is listed twice")
        both = set(self.origins) & set(self.destinations)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} is both an origin and a destination")
        return self

    def pairs(self) -> list[tuple[str, str]]:
        out = [(o, d) for o in self.origins for d in self.destinations]
        if self.both_directions:
            out += [(d, o) for o in self.origins for d in self.destinations]
        return out


class Horizon(_Strict):
    """Departure dates: day by day for `daily_days` days from the logical date, and whole months:
    `months` calendar months counting the logical date's own (4: this month and the next three;
    13: to the same month next year). With a daily part, the months start after it."""

    daily_days: int = Field(ge=0, le=366)
    months: int = Field(ge=0, le=13)


class Trips(_Strict):
    one_way: bool = True
    round_trip_days: list[Annotated[int, Field(ge=1, le=60)]] = Field(default_factory=list)

    @field_validator("round_trip_days")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("a trip length is listed twice")
        return sorted(value)


class Query(_Strict):
    """One family of requests: an endpoint asked for some trips on some departure dates."""

    endpoint: str
    trips: list[Trip] = Field(min_length=1)
    departures: list[Departures] = Field(min_length=1)
    params: dict[str, str] = Field(default_factory=dict)  # extra query parameters, sent as is
    months: int | None = Field(default=None, ge=0, le=13)  # this family's own horizon.months

    @field_validator("endpoint")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        if value not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {value!r} (known: {', '.join(ENDPOINTS)})")
        return value

    @field_validator("params", mode="before")
    @classmethod
    def _params_as_text(cls, value: Any) -> Any:
        # YAML turns `limit: 1000` into an int and `one_way: true` into a bool; the API wants text.
        if isinstance(value, dict):
            return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}
        return value

    @field_validator("params")
    @classmethod
    def _no_token(cls, value: dict[str, str]) -> dict[str, str]:
        if TOKEN_PARAMS & value.keys():
            raise ValueError("must not carry the token: the proxy adds it, the collector never sees it")
        return value

    @model_validator(mode="after")
    def _params_the_proxy_accepts(self) -> Query:
        # Checked here, at start, with the proxy's rules: otherwise every request of the family
        # would plan fine and then be refused by the proxy (422) at send time.
        problems = param_problems(self.endpoint, self.params)
        if problems:
            raise ValueError(f"params: {'; '.join(problems)}")
        return self


class Sending(_Strict):
    """How politely and how patiently requests are sent."""

    max_in_flight: int = Field(default=16, ge=1, le=256)  # per endpoint
    attempt_timeout_s: float = Field(default=20.0, gt=0, le=300)
    request_deadline_s: float = Field(default=180.0, gt=0, le=3600)
    max_attempts: int = Field(default=6, ge=1, le=20)
    backoff_base_s: float = Field(default=0.5, gt=0, le=60)
    backoff_max_s: float = Field(default=30.0, gt=0, le=600)
    rate_margin: float = Field(default=0.01, ge=0, le=0.5)  # slots 1 % wider than limit allows
    pause_on_429_s: float = Field(default=1.0, ge=0, le=120)  # endpoint pause on a 429 without Retry-After


SendingConfig = Sending


# Unset limits default to the proxy's default budget (TICKETTRAK_PROXY_RATE_LIMIT_FRACTION 0.95):
# pacing above it would only buy 429s from the proxy.
DEFAULT_LIMIT_SHARE = 0.95


def _default_limits() -> dict[str, int]:
    return {name: math.floor(e.per_minute * DEFAULT_LIMIT_SHARE) for name, e in ENDPOINTS.items()}


class RoutesConfig(_Strict):
    version: Literal[1]
    currency: str = "rub"
    market: str = "ru"
    routes: Routes
    horizon: Horizon
    trips: Trips
    queries: list[Query] = Field(min_length=1)
    limits: dict[str, Annotated[int, Field(gt=0)]] = Field(default_factory=_default_limits)
    sending: Sending = Field(default_factory=Sending)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{3}", value):
            raise ValueError(f"must be a lower-case ISO 4217 code like rub or usd, got {value!r}")
        return value

    @field_validator("market")
    @classmethod
    def _market(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z]{2}", value):
            raise ValueError(f"must be a lower-case market code like ru, got {value!r}")
        return value

    @field_validator("limits")
    @classmethod
    def _limits(cls, value: dict[str, int]) -> dict[str, int]:
        for name, per_minute in value.items():
            if name not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {name!r} (known: {', '.join(ENDPOINTS)})")
            documented = ENDPOINTS[name].per_minute
            if per_minute > documented:
                raise ValueError(
                    f"{name}: {per_minute}/min is above the API's documented {documented}/min "
                    "(raise it for a sped-up sandbox with --rate-limit-scale, not here)"
                )
        return {**_default_limits(), **value}

    @model_validator(mode="after")
    def _queries_fit(self) -> RoutesConfig:
        for i, query in enumerate(self.queries):
            problem = _unsupported(query, self.trips)
            if problem:
                raise ValueError(f"queries[{i}] ({query.endpoint}): {problem}")
        return self


def _unsupported(query: Query, trips: Trips) -> str | None:
    """Combinations an endpoint cannot express (see plan.py for how each one is asked)."""
    from tickettrak.collector.plan import STAY_IN_WEEKS, SUPPORTED

    if "round_trip" in query.trips and query.endpoint in STAY_IN_WEEKS:
        odd = [n for n in trips.round_trip_days if n % 7 or not 7 <= n <= 28]
        if odd:
            return f"counts stays in whole weeks (7, 14, 21, 28 days); trips.round_trip_days has {odd}"

    for trip in query.trips:
        for departures in query.departures:
            if (query.endpoint, trip, departures) not in SUPPORTED:
                ok = sorted(f"{t}/{d}" for e, t, d in SUPPORTED if e == query.endpoint)
                return f"cannot ask for {trip} trips by {departures} departures (supported: {', '.join(ok)})"
    return None


def _describe_one(location: str, message: str) -> str:
    message = message.removeprefix("Value error, ")
    if not location:  # a top-level model validator: its message starts with the field
        return message
    # A nested model validator's message starts with its own field: join the paths.
    if re.match(r"[a-z_]+(\[\d+\])?: ", message):
        return f"{location}.{message}"
    return f"{location}: {message}"


def _describe(error: ValidationError) -> str:
    """Every problem (up to three), each naming its field: a typo often shows as two errors."""
    problems = [_describe_one(".".join(str(p) for p in e["loc"]), e["msg"]) for e in error.errors()]
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def parse_routes_config(data: Any, source: str = "<config>") -> RoutesConfig:
    if not isinstance(data, dict):
        raise RoutesConfigError(f"{source}: must be a YAML mapping (see the default routes.yaml)")
    try:
        return RoutesConfig.model_validate(data)
    except ValidationError as error:
        raise RoutesConfigError(f"{source}: {_describe(error)}") from None


def load_routes_config(path: Path | None = None) -> RoutesConfig:
    """The config from `path`, or the default shipped with the package."""
    if path is None:
        text = files("tickettrak.collector").joinpath(DEFAULT_ROUTES_FILE).read_text(encoding="utf-8")
        source = f"default {DEFAULT_ROUTES_FILE}"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise RoutesConfigError(f"{path}: cannot read the routes file: {error.strerror}") from None
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RoutesConfigError(f"{source}: not valid YAML: {error}") from None
    return parse_routes_config(data, source)
