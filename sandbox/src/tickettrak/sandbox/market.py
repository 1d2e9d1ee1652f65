"""The sandbox's market model: seeded, deterministic prices for Russia <-> UAE flights.

Every number the sandbox serves is a pure function of (seed, route, dates, as-of day, market):
ask twice, get the same bytes; ask "as of" an earlier day, get the market as it was that day.
That is how a laptop builds a history of many observation days (the real API cannot).

The model (full prose with the numbers: sandbox/README.md, "The market model")
--------------------------------------------------------------------------------
Offers. A route (origin city -> destination city) is flown by scheduled `Line`s (geography.py):
direct or one-stop, each on its weekdays. An offer is an outbound line on the departure date and,
for a round trip, a return line on the return date (any carrier pair: Aviasales sells virtual
combinations, so one outbound appears several times with different returns, as in the recordings).
About one combination in four also has a second, dearer fare (another agent), identical except
for price and link, like the recorded MOW->DXB bodies.

The cache. Aviasales serves a cache of its users' searches, not live quotes. Here, each
combination is re-searched on a given day with probability 60 %; the price shown on as-of day A
is the one found at the latest search S in [A-6, A] (S is the link's `search_date`). On day A a
combination is visible at all with the route's `visibility` (fewer far ahead, fewer for non-`ru`
markets), and a whole date pair is missing that day with probability 1 - `date_coverage`
(more often far ahead, and for stays outside 3-14 nights).
Past departures (before A) have no offers; neither do departures more than 360 days ahead.

Price (RUB, integer) of a round trip seen at search day S for departure D, return R:
    (leg(out, D) + leg(back, R)) * stay(R - D) * booking(D - S) * purchase_weekday(S)
        * daily_shock(route, D, S) * noise(offer, S) [* outlier]
    leg(line, day) = reference_fare(route) * carrier.fare_factor * (1.06 if one-stop)
                     * season(month) * holiday(day, direction) * departure_weekday(day)
A one-way ticket is leg(out, D) * 1.12 with the same multipliers (no stay factor).
`booking` is flat at its minimum inside the route's cheapest window (the ground truth,
`Market.true_cheapest_window`), 7 % dearer right outside it, rising slowly further ahead and
steeply in the last two weeks (x2.0 on the day of departure). `purchase_weekday` is 0.90 on the
route's best weekday to buy (`Market.true_best_purchase_weekday`), 1.00-1.03 on the others.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from tickettrak.sandbox.geography import (
    AIRPORTS,
    CARRIERS,
    RUSSIAN_CITIES,
    UAE_CITIES,
    Line,
    distance_km,
    lines_between,
)

DEFAULT_SEED = 20251211  # the day the MOW->DXB recordings were made

CACHE_DAYS = 7  # a sighting stays in the cache this many days (search_date is A-6 .. A)
SEARCH_RATE = 0.60  # chance a combination is searched again on a given day
HORIZON_DAYS = 360  # no offers further ahead than this
LAST_MINUTE_DAYS = 14
OUTSIDE_WINDOW_STEP = 0.07  # the jump in price right outside the cheapest window
ONE_STOP_FACTOR = 1.06  # one-stop costs more here: direct low-cost seats set the floor
ONE_WAY_FACTOR = 1.12
SECOND_FARE_RATE = 0.25
COMMON_STAYS = (3, 14)  # nights; other stays are searched (and cached) far less
RARE_STAY_COVERAGE = 0.35
OUTLIER_RATE = 0.004
NOISE_SD = 0.05
DAILY_SHOCK_SD = 0.02

# Demand premium of the Russian city and the UAE city: regional routes are dearer per km (the
# earlier pipeline's averages: MOW->DXB ~36.9k, LED ~50.6k, SVX ~49.4k, KZN ~53.8k RUB).
CITY_PREMIUM = {
    "MOW": 1.00, "LED": 1.05, "KZN": 1.20, "SVX": 1.15,
    "AER": 1.05, "OVB": 1.20, "KRR": 1.10, "UFA": 1.20,
    "DXB": 1.00, "AUH": 1.08, "SHJ": 0.92, "RKT": 1.10,
}  # fmt: skip

# UAE seasonality by departure month: winter sun is dear, the summer heat is cheap.
SEASON = {1: 1.10, 2: 1.05, 3: 1.05, 4: 0.95, 5: 0.90, 6: 0.78,
          7: 0.75, 8: 0.78, 9: 0.85, 10: 1.00, 11: 1.08, 12: 1.15}  # fmt: skip

# Departure weekday (Monday = 0): Friday and Sunday flights are wanted most.
DEPARTURE_WEEKDAY = (1.00, 0.95, 0.94, 1.00, 1.08, 1.04, 1.06)

# Purchase weekday factors, from the route's best day (0.90) onwards.
PURCHASE_WEEKDAY_PATTERN = (0.90, 1.00, 1.01, 1.02, 1.03, 1.02, 1.01)


def holiday_factor(day: date, towards_uae: bool) -> float:
    """New Year and the May holidays: outbound from Russia before them, back after them."""
    md = (day.month, day.day)
    if towards_uae:
        if md >= (12, 27) or md <= (1, 5):
            return 1.60
        if (4, 29) <= md <= (5, 3):
            return 1.30
    else:
        if (1, 2) <= md <= (1, 11):
            return 1.45
        if (5, 8) <= md <= (5, 11):
            return 1.25
    return 1.0


def stay_factor(nights: int) -> float:
    """Trip length: weekend trips pay more, long stays a little less."""
    if nights <= 2:
        return 1.12
    if nights <= 4:
        return 1.04
    if nights <= 10:
        return 1.00
    if nights <= 20:
        return 0.97
    return 0.95


def booking_factor(days_before: int, window: tuple[int, int]) -> float:
    """Price multiplier by days between the search and the departure.

    Minimum (1.00-1.02) inside `window`; +7 % right outside it; +0.25 %/day further ahead (up to
    x1.35); +0.4 %/day between the last-minute edge and the window; then a steep climb in the last
    14 days, to about x2 on departure day.
    """
    lo, hi = window
    days = max(days_before, 0)
    if lo <= days <= hi:
        mid = (lo + hi) / 2
        half = max((hi - lo) / 2, 1.0)
        return 1.0 + 0.02 * abs(days - mid) / half
    if days > hi:
        return min(1.0 + OUTSIDE_WINDOW_STEP + 0.0025 * (days - hi), 1.35)
    edge = max(lo - LAST_MINUTE_DAYS, 0)
    if days >= LAST_MINUTE_DAYS:
        return 1.0 + OUTSIDE_WINDOW_STEP + 0.004 * (lo - days)
    at_edge = 1.0 + OUTSIDE_WINDOW_STEP + 0.004 * edge
    steep: float = ((LAST_MINUTE_DAYS - days) / LAST_MINUTE_DAYS) ** 1.3
    return at_edge + 0.75 * steep


def horizon_factor(days_before: int) -> float:
    """Far-ahead dates are searched less: full interest up to 60 days, 35 % at the horizon."""
    if days_before <= 60:
        return 1.0
    return max(0.35, 1.0 - 0.65 * (days_before - 60) / (HORIZON_DAYS - 60))


@dataclass(frozen=True)
class RouteParams:
    """The ground truth of one route (what the analytics should recover)."""

    origin: str
    destination: str
    reference_fare: int  # RUB, one way, neutral carrier/season/booking
    cheapest_window: tuple[int, int]  # days before departure, inclusive
    best_purchase_weekday: int  # ISO: 1 = Monday .. 7 = Sunday
    visibility: float  # chance a combination is in the cache on a given day (near term, ru)
    date_coverage: float  # chance a date pair has any offer at all on a given day
    lines: tuple[Line, ...]

    @property
    def towards_uae(self) -> bool:
        return self.destination in UAE_CITIES


def _window_for(origin: str, destination: str) -> tuple[int, int]:
    """Cheapest booking windows, aligned on the marts' buckets (0-6/7-13/14-29/30-59/60-89/90+).

    Leisure low-cost and charter destinations (Sharjah, Ras al-Khaimah) sell out late: 14-29 days.
    Abu Dhabi (premium carriers, planned trips) is cheapest early: 60-89 days. Dubai and the way
    back to Russia from anywhere but Sharjah: 30-59 days. Sharjah -> Russia: 14-29 days.
    """
    if destination in ("SHJ", "RKT") or origin == "SHJ":
        return (14, 29)
    if destination == "AUH":
        return (60, 89)
    return (30, 59)


@dataclass(frozen=True)
class Offer:
    """One ticket in the cache as the sandbox would serve it (prices in RUB)."""

    origin: str
    destination: str
    out: Line
    back: Line | None
    depart_date: date
    return_date: date | None
    price: int
    search_date: date
    fare: int  # 0 = the combination's main fare, 1 = its dearer second fare
    token: str  # 32 hex chars, stable per offer (the link's hash part)

    # --- derived views used by the renderers --------------------------------------------------
    def departure(self) -> datetime:
        return self._departure

    @cached_property
    def _departure(self) -> datetime:
        return _local(self.out, self.depart_date)

    def arrival(self) -> datetime:
        return self.departure() + timedelta(minutes=self.out.elapsed_min)

    def return_departure(self) -> datetime | None:
        if self.back is None or self.return_date is None:
            return None
        return _local(self.back, self.return_date)

    def return_arrival(self) -> datetime | None:
        start = self.return_departure()
        if start is None or self.back is None:
            return None
        return start + timedelta(minutes=self.back.elapsed_min)

    @property
    def transfers(self) -> int:
        return self.out.transfers

    @property
    def return_transfers(self) -> int:
        return self.back.transfers if self.back else 0

    @property
    def duration_to(self) -> int:
        """Flying time of the outbound (the real API leaves layovers out of duration_to)."""
        return self.out.flying_min

    @property
    def duration_back(self) -> int:
        return self.back.flying_min if self.back else 0

    @property
    def duration(self) -> int:
        """Elapsed time of both legs, layovers included (equals to+back only when non-stop)."""
        return self.out.elapsed_min + (self.back.elapsed_min if self.back else 0)


def _local(line: Line, day: date) -> datetime:
    tz = AIRPORTS[line.origin].tz
    return datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=line.depart_min)


@dataclass
class Market:
    """The seeded market. Cheap to build; offers are cached per (route, dates, as-of, market)."""

    seed: int = DEFAULT_SEED
    # offer lists kept (~700 bytes an offer, up to ~60 offers a MOW-DXB date pair): enough for a
    # month x month search and a benchmark's working set, bounded for a long history build
    cache_size: int = 8192
    _routes: dict[tuple[str, str], RouteParams] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._routes = {route: self._make_route(*route) for route in all_routes()}
        self._offers_cached = lru_cache(maxsize=self.cache_size)(self._compute_offers)
        self._leg_cached = lru_cache(maxsize=100_000)(self._leg_price)
        self._shock_cached = lru_cache(maxsize=100_000)(self._daily_shock)

    # --- ground truth ------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str]]:
        return list(self._routes)

    def route(self, origin: str, destination: str) -> RouteParams:
        try:
            return self._routes[(origin.upper(), destination.upper())]
        except KeyError:
            raise KeyError(f"the sandbox has no route {origin}->{destination}") from None

    def true_cheapest_window(self, origin: str, destination: str) -> tuple[int, int]:
        """Days before departure (inclusive) where this route's prices bottom out."""
        return self.route(origin, destination).cheapest_window

    def true_best_purchase_weekday(self, origin: str, destination: str) -> int:
        """ISO weekday (1 = Monday) on which searches of this route find the lowest prices."""
        return self.route(origin, destination).best_purchase_weekday

    def purchase_weekday_factor(self, origin: str, destination: str, day: date) -> float:
        best = self.true_best_purchase_weekday(origin, destination)
        return PURCHASE_WEEKDAY_PATTERN[(day.isoweekday() - best) % 7]

    def parameters(self) -> dict[str, Any]:
        """Every knob of the model, for documentation and for tests that check the analytics."""
        return {
            "seed": self.seed,
            "cache_days": CACHE_DAYS,
            "search_rate": SEARCH_RATE,
            "horizon_days": HORIZON_DAYS,
            "last_minute_days": LAST_MINUTE_DAYS,
            "outside_window_step": OUTSIDE_WINDOW_STEP,
            "one_stop_factor": ONE_STOP_FACTOR,
            "one_way_factor": ONE_WAY_FACTOR,
            "second_fare_rate": SECOND_FARE_RATE,
            "outlier_rate": OUTLIER_RATE,
            "noise_sd": NOISE_SD,
            "daily_shock_sd": DAILY_SHOCK_SD,
            "season": dict(SEASON),
            "departure_weekday": list(DEPARTURE_WEEKDAY),
            "purchase_weekday_pattern": list(PURCHASE_WEEKDAY_PATTERN),
            "city_premium": dict(CITY_PREMIUM),
            "carriers": {c.code: {"kind": c.kind, "fare_factor": c.fare_factor} for c in CARRIERS.values()},
            "routes": {
                f"{o}-{d}": {
                    "reference_fare": r.reference_fare,
                    "cheapest_window": list(r.cheapest_window),
                    "best_purchase_weekday": r.best_purchase_weekday,
                    "visibility": r.visibility,
                    "date_coverage": r.date_coverage,
                    "lines": [f"{x.carrier} {x.number} {'-'.join(x.airports)}" for x in r.lines],
                }
                for (o, d), r in self._routes.items()
            },
        }

    # --- offers ------------------------------------------------------------------------------
    def offers(
        self,
        origin: str,
        destination: str,
        depart: date,
        ret: date | None,
        as_of: date,
        market: str = "ru",
    ) -> tuple[Offer, ...]:
        """The cache's offers for one date pair (ret None = one-way) on as-of day, cheapest first."""
        if (origin, destination) not in self._routes:
            return ()
        return self._offers_cached(origin, destination, depart, ret, as_of, market)

    def has_route(self, origin: str, destination: str) -> bool:
        return (origin, destination) in self._routes

    def destinations_from(self, origin: str) -> list[str]:
        return [d for (o, d) in self._routes if o == origin]

    def origins_to(self, destination: str) -> list[str]:
        return [o for (o, d) in self._routes if d == destination]

    def _compute_offers(
        self, origin: str, destination: str, depart: date, ret: date | None, as_of: date, market: str
    ) -> tuple[Offer, ...]:
        route = self._routes[(origin, destination)]
        days_ahead = (depart - as_of).days
        if days_ahead < 0 or days_ahead > HORIZON_DAYS or (ret is not None and ret < depart):
            return ()
        pair = f"{origin}{destination}|{depart.isoformat()}|{ret.isoformat() if ret else '-'}"
        coverage = route.date_coverage * (1.0 if days_ahead <= 120 else 0.85)
        if ret is not None and not COMMON_STAYS[0] <= (ret - depart).days <= COMMON_STAYS[1]:
            coverage *= RARE_STAY_COVERAGE  # few people search day trips or month-long stays
        if self._u("date", pair, as_of) >= coverage:
            return ()  # the sparse cache: nobody searched this date pair lately
        market_factor = 1.0 if market == "ru" else 0.35
        visibility = route.visibility * horizon_factor(days_ahead) * market_factor
        outs = [line for line in route.lines if depart.weekday() in line.days]
        backs: list[Line | None] = [None]
        if ret is not None:
            back_route = self._routes[(destination, origin)]
            backs = [line for line in back_route.lines if ret.weekday() in line.days]
        found: list[Offer] = []
        for out in outs:
            for back in backs:
                combo = f"{pair}|{out.key}|{back.key if back else '-'}|{market}"
                if self._u("visible", combo, as_of) >= visibility:
                    continue
                searched = self._search_day(combo, as_of)
                if searched is None:
                    continue
                found.extend(self._priced(route, out, back, depart, ret, searched, combo))
        found.sort(key=lambda o: (o.price, o.token))
        return tuple(found)

    def _search_day(self, combo: str, as_of: date) -> date | None:
        for age in range(CACHE_DAYS):
            day = as_of - timedelta(days=age)
            if self._u("search", combo, day) < SEARCH_RATE:
                return day
        return None

    def _priced(
        self,
        route: RouteParams,
        out: Line,
        back: Line | None,
        depart: date,
        ret: date | None,
        searched: date,
        combo: str,
    ) -> Iterator[Offer]:
        base = self._leg_cached(route.origin, route.destination, out, depart)
        if back is not None and ret is not None:
            base += self._leg_cached(route.destination, route.origin, back, ret)
            base *= stay_factor((ret - depart).days)
        else:
            base *= ONE_WAY_FACTOR
        price = (
            base
            * booking_factor((depart - searched).days, route.cheapest_window)
            * self.purchase_weekday_factor(route.origin, route.destination, searched)
            * self._shock_cached(route.origin, route.destination, depart, searched)
        )
        # one 64-byte digest drives this sighting: second fare?, noise, outliers, tokens
        digest = hashlib.blake2b(f"{self.seed}|offer|{combo}|{searched.toordinal()}".encode()).digest()
        u = [v / 2.0**64 for v in struct.unpack(">8Q", digest)]
        value = price * math.exp(NOISE_SD * (sum(u[1:5]) - 2.0) * math.sqrt(3.0))
        fares = [value]
        if u[0] < SECOND_FARE_RATE:  # another agent sells the same combination dearer
            fares.append(value * (1.20 + 0.25 * u[5]))
        for fare, amount in enumerate(fares):
            outlier = u[6 + fare]
            if outlier < OUTLIER_RATE:  # real data has them (the 2026 airspace closure)
                amount *= 1.5 + outlier / OUTLIER_RATE
            yield Offer(
                origin=route.origin,
                destination=route.destination,
                out=out,
                back=back,
                depart_date=depart,
                return_date=ret,
                price=max(round(amount), 1),
                search_date=searched,
                fare=fare,
                token=digest[16 * fare : 16 * fare + 16].hex(),
            )

    def _daily_shock(self, origin: str, destination: str, depart: date, searched: date) -> float:
        """The whole route's price level moves a little from one search day to the next."""
        return math.exp(DAILY_SHOCK_SD * self._z("shock", f"{origin}{destination}{depart}", searched))

    def _leg_price(self, origin: str, destination: str, line: Line, day: date) -> float:
        route = self._routes[(origin, destination)]
        carrier = CARRIERS[line.carrier]
        return (
            route.reference_fare
            * carrier.fare_factor
            * (ONE_STOP_FACTOR if line.via else 1.0)
            * SEASON[day.month]
            * holiday_factor(day, route.towards_uae)
            * DEPARTURE_WEEKDAY[day.weekday()]
        )

    # --- deterministic randomness --------------------------------------------------------------
    def _digest(self, kind: str, key: str, day: date) -> bytes:
        return hashlib.blake2b(
            f"{self.seed}|{kind}|{key}|{day.toordinal()}".encode(), digest_size=16
        ).digest()

    def _u(self, kind: str, key: str, day: date) -> float:
        """Uniform [0, 1) from the key: the same question always gets the same answer."""
        return int.from_bytes(self._digest(kind, key, day)[:8], "big") / 2.0**64

    def _z(self, kind: str, key: str, day: date) -> float:
        """Approximately standard normal (Irwin-Hall of four uniforms, rescaled)."""
        parts: tuple[int, ...] = struct.unpack(">4I", self._digest(kind, key, day))
        return (sum(parts) / 2.0**32 - 2.0) * math.sqrt(3.0)

    def _make_route(self, origin: str, destination: str) -> RouteParams:
        lines = lines_between(origin, destination)
        ru, uae = (origin, destination) if origin in RUSSIAN_CITIES else (destination, origin)
        reference = (2600 + 1.5 * distance_km(ru, uae)) * CITY_PREMIUM[ru] * CITY_PREMIUM[uae]
        weekday_hash = hashlib.blake2b(f"{self.seed}|weekday|{origin}{destination}".encode(), digest_size=8)
        popular = (origin, destination) in (("MOW", "DXB"), ("DXB", "MOW"))
        return RouteParams(
            origin=origin,
            destination=destination,
            reference_fare=round(reference),
            cheapest_window=_window_for(origin, destination),
            best_purchase_weekday=int.from_bytes(weekday_hash.digest(), "big") % 7 + 1,
            # many lines -> many combinations: each is less likely to be in the cache
            visibility=min(0.9, 6.0 / max(len(lines), 1) ** 1.2 + 0.2) if not popular else 0.35,
            date_coverage=0.98 if popular else 0.9,
            lines=lines,
        )


def all_routes() -> list[tuple[str, str]]:
    routes = [(ru, uae) for ru in RUSSIAN_CITIES for uae in UAE_CITIES]
    return routes + [(uae, ru) for ru, uae in routes]


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
