"""The sandbox's world: cities, airports (with their UTC offsets), carriers and scheduled lines.

Everything here is static data the market model prices. Lines are written once, Russia -> UAE;
the reverse line (UAE -> Russia) is derived with the next flight number, as airlines do
(SU 520 out, SU 521 back). Flight numbers are strings: "099" keeps its zero, like the real API.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta, timezone
from functools import cached_property


@dataclass(frozen=True)
class Airport:
    code: str
    city: str
    lat: float
    lon: float
    utc_offset_min: int  # fixed offsets: none of these places observes DST

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_min))


def _ap(code: str, city: str, lat: float, lon: float, hours: float) -> Airport:
    return Airport(code, city, lat, lon, round(hours * 60))


AIRPORTS: dict[str, Airport] = {
    a.code: a
    for a in (
        # Russia
        _ap("SVO", "MOW", 55.972, 37.415, 3),
        _ap("DME", "MOW", 55.409, 37.906, 3),
        _ap("VKO", "MOW", 55.596, 37.267, 3),
        _ap("LED", "LED", 59.800, 30.262, 3),
        _ap("KZN", "KZN", 55.606, 49.279, 3),
        _ap("SVX", "SVX", 56.743, 60.803, 5),
        _ap("AER", "AER", 43.450, 39.957, 3),
        _ap("OVB", "OVB", 55.013, 82.651, 7),
        _ap("KRR", "KRR", 45.035, 39.171, 3),
        _ap("UFA", "UFA", 54.557, 55.874, 5),
        # UAE
        _ap("DXB", "DXB", 25.253, 55.366, 4),
        _ap("DWC", "DXB", 24.896, 55.161, 4),
        _ap("AUH", "AUH", 24.433, 54.651, 4),
        _ap("SHJ", "SHJ", 25.329, 55.517, 4),
        _ap("RKT", "RKT", 25.613, 55.939, 4),
        # connection points only (not searchable cities in the sandbox)
        _ap("MRV", "MRV", 44.225, 43.082, 3),
        _ap("MCX", "MCX", 42.817, 47.652, 3),
        _ap("IST", "IST", 41.275, 28.752, 3),
        _ap("AYT", "AYT", 36.899, 30.800, 3),
        _ap("TAS", "TAS", 41.258, 69.281, 5),
        _ap("IKA", "THR", 35.416, 51.152, 3.5),
    )
}

RUSSIAN_CITIES: tuple[str, ...] = ("MOW", "LED", "KZN", "SVX", "AER", "OVB", "KRR", "UFA")
UAE_CITIES: tuple[str, ...] = ("DXB", "AUH", "SHJ", "RKT")
CITIES: frozenset[str] = frozenset(RUSSIAN_CITIES + UAE_CITIES)
CITY_AIRPORTS: dict[str, tuple[str, ...]] = {
    city: tuple(a.code for a in AIRPORTS.values() if a.city == city) for city in CITIES
}
AIRPORT_TO_CITY: dict[str, str] = {a.code: a.city for a in AIRPORTS.values() if a.city in CITIES}


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    kind: str  # "lowcost" | "full" | "premium" | "charter"
    fare_factor: float  # multiplies the route's reference fare


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("DP", "Pobeda", "lowcost", 0.78),
        Carrier("FZ", "flydubai", "lowcost", 0.90),
        Carrier("G9", "Air Arabia", "lowcost", 0.82),
        Carrier("ZF", "Azur Air", "charter", 0.88),
        Carrier("A4", "Azimuth", "full", 0.95),
        Carrier("UT", "Utair", "full", 0.92),
        Carrier("U6", "Ural Airlines", "full", 0.96),
        Carrier("S7", "S7 Airlines", "full", 1.02),
        Carrier("FV", "Rossiya", "full", 1.00),
        Carrier("SU", "Aeroflot", "full", 1.20),
        Carrier("W5", "Mahan Air", "full", 0.86),
        Carrier("EK", "Emirates", "premium", 1.60),
        Carrier("EY", "Etihad Airways", "premium", 1.50),
    )
}


def distance_km(a: str, b: str) -> int:
    """Great-circle distance between two airports (or the first airports of two cities)."""
    pa = AIRPORTS[CITY_AIRPORTS[a][0] if a in CITY_AIRPORTS else a]
    pb = AIRPORTS[CITY_AIRPORTS[b][0] if b in CITY_AIRPORTS else b]
    lat1, lon1, lat2, lon2 = map(math.radians, (pa.lat, pa.lon, pb.lat, pb.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(2 * 6371 * math.asin(math.sqrt(h)))


def block_minutes(a: str, b: str) -> int:
    """Scheduled flight time: ~780 km/h plus taxi, rounded to 5 minutes (MOW-DXB comes out ~320-335,
    like the recorded 320-345)."""
    minutes = distance_km(a, b) / 780 * 60 + 40
    return int(round(minutes / 5) * 5)


@dataclass(frozen=True)
class Line:
    """A scheduled service between two airports, direct or with one stop.

    `days` is the weekdays it operates (0 = Monday). `layover_min` is the connection time at the
    stop (0 when direct). `depart_min` is the local departure time in minutes after midnight.
    """

    carrier: str
    number: str
    origin: str  # airport
    destination: str  # airport
    depart_min: int
    via: str | None = None
    layover_min: int = 0
    days: frozenset[int] = frozenset(range(7))

    @property
    def origin_city(self) -> str:
        return AIRPORT_TO_CITY[self.origin]

    @property
    def destination_city(self) -> str:
        return AIRPORT_TO_CITY[self.destination]

    @property
    def transfers(self) -> int:
        return 0 if self.via is None else 1

    @cached_property
    def key(self) -> str:
        return f"{self.carrier}{self.number}{self.origin}{self.destination}"

    @cached_property
    def flying_min(self) -> int:
        if self.via is None:
            return block_minutes(self.origin, self.destination)
        return block_minutes(self.origin, self.via) + block_minutes(self.via, self.destination)

    @cached_property
    def elapsed_min(self) -> int:
        return self.flying_min + self.layover_min

    @cached_property
    def airports(self) -> tuple[str, ...]:
        return (self.origin, self.via, self.destination) if self.via else (self.origin, self.destination)


def _hm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _next_number(number: str) -> str:
    """The return flight's number: +1, same width (so "099" -> "100", "0520" -> "0521")."""
    return str(int(number) + 1).zfill(len(number))


_WEEK = frozenset(range(7))
_MWFS = frozenset({0, 2, 4, 6})
_TTS = frozenset({1, 3, 5})
_TS = frozenset({1, 5})

# (carrier, number, from, to, out local time, back local time, via, layover out, layover back, days)
_OUTBOUND: tuple[tuple[str, str, str, str, str, str, str | None, int, int, frozenset[int]], ...] = (
    # --- Moscow -> Dubai (the recorded route: SU, UT, U6, DP, S7 and one-stop options) ---
    ("SU", "520", "SVO", "DXB", "08:15", "15:10", None, 0, 0, _WEEK),
    ("SU", "524", "SVO", "DXB", "21:30", "03:40", None, 0, 0, _WEEK),
    ("UT", "715", "VKO", "DWC", "08:40", "17:30", None, 0, 0, _WEEK),
    ("U6", "797", "DME", "DWC", "07:30", "16:25", None, 0, 0, _WEEK),
    ("DP", "793", "VKO", "DWC", "10:05", "15:30", None, 0, 0, _MWFS),
    ("EK", "132", "DME", "DXB", "15:50", "09:15", None, 0, 0, _WEEK),
    ("FZ", "982", "VKO", "DXB", "13:00", "07:25", None, 0, 0, _WEEK),
    ("S7", "3773", "DME", "DWC", "10:00", "12:55", None, 0, 0, _TTS),
    ("S7", "2509", "DME", "DXB", "16:45", "09:50", "OVB", 450, 380, _WEEK),
    ("UT", "783", "VKO", "DXB", "10:30", "11:20", "AYT", 295, 240, _WEEK),
    ("DP", "111", "VKO", "DWC", "08:05", "14:05", "AER", 265, 300, _WEEK),
    ("SU", "1134", "SVO", "DWC", "09:15", "12:45", "MRV", 185, 220, _MWFS),
    ("W5", "0113", "VKO", "DXB", "22:10", "04:30", "IKA", 310, 420, _TTS),
    # --- Moscow -> Abu Dhabi / Sharjah / Ras al-Khaimah ---
    ("EY", "066", "DME", "AUH", "10:10", "02:45", None, 0, 0, _WEEK),
    ("SU", "556", "SVO", "AUH", "23:55", "09:20", None, 0, 0, _MWFS),
    ("U6", "2757", "DME", "AUH", "14:20", "08:35", "MCX", 170, 200, _WEEK),
    ("G9", "948", "DME", "SHJ", "21:10", "14:10", None, 0, 0, _WEEK),
    ("DP", "099", "VKO", "SHJ", "06:55", "13:40", None, 0, 0, _WEEK),
    ("U6", "2795", "DME", "SHJ", "12:35", "19:50", "TAS", 190, 230, _WEEK),
    ("ZF", "085", "VKO", "RKT", "02:30", "11:30", None, 0, 0, _TS),
    ("UT", "0721", "VKO", "RKT", "11:15", "18:40", None, 0, 0, _MWFS),
    # --- Saint Petersburg ---
    ("FV", "6617", "LED", "DXB", "09:40", "16:30", None, 0, 0, _WEEK),
    ("FZ", "946", "LED", "DXB", "16:20", "09:35", None, 0, 0, _WEEK),
    ("EK", "176", "LED", "DXB", "13:30", "07:35", None, 0, 0, _MWFS),
    ("SU", "011", "LED", "DXB", "06:10", "15:10", "SVO", 150, 180, _WEEK),
    ("G9", "966", "LED", "SHJ", "23:15", "15:20", None, 0, 0, _WEEK),
    ("SU", "013", "LED", "AUH", "07:45", "09:20", "SVO", 600, 205, _WEEK),
    ("ZF", "3241", "LED", "RKT", "03:10", "12:20", None, 0, 0, _TS),
    # --- Kazan ---
    ("FZ", "926", "KZN", "DXB", "15:05", "09:10", None, 0, 0, _WEEK),
    ("U6", "2939", "KZN", "SHJ", "11:50", "18:55", None, 0, 0, _TTS),
    ("G9", "0958", "KZN", "SHJ", "20:40", "14:05", None, 0, 0, _MWFS),
    ("SU", "1271", "KZN", "DXB", "06:30", "15:10", "SVO", 205, 180, _WEEK),
    ("SU", "1273", "KZN", "AUH", "18:30", "09:20", "SVO", 325, 235, _WEEK),
    ("UT", "0457", "KZN", "RKT", "09:20", "17:10", "VKO", 275, 200, _WEEK),
    # --- Yekaterinburg (+05:00) ---
    ("U6", "2793", "SVX", "DXB", "08:35", "15:40", None, 0, 0, _WEEK),
    ("FZ", "906", "SVX", "DXB", "17:00", "10:45", None, 0, 0, _WEEK),
    ("G9", "0923", "SVX", "SHJ", "22:05", "15:50", None, 0, 0, _MWFS),
    ("S7", "3619", "SVX", "DXB", "05:55", "12:55", "OVB", 185, 260, _WEEK),
    ("U6", "2761", "SVX", "AUH", "10:15", "17:05", None, 0, 0, _TTS),
    ("U6", "2731", "SVX", "RKT", "13:25", "20:35", None, 0, 0, _TS),
    # --- Sochi ---
    ("FZ", "914", "AER", "DXB", "14:35", "08:25", None, 0, 0, _WEEK),
    ("UT", "0565", "AER", "DWC", "10:25", "17:30", None, 0, 0, _MWFS),
    ("A4", "0331", "AER", "SHJ", "07:05", "14:25", None, 0, 0, _TTS),
    ("SU", "1137", "AER", "DXB", "06:05", "15:10", "SVO", 190, 180, _WEEK),
    ("SU", "1139", "AER", "AUH", "19:40", "09:20", "SVO", 270, 230, _WEEK),
    ("U6", "2643", "AER", "RKT", "09:50", "16:55", "MCX", 160, 185, _WEEK),
    # --- Novosibirsk (+07:00) ---
    ("S7", "781", "OVB", "DXB", "09:05", "16:40", None, 0, 0, _WEEK),
    ("FZ", "954", "OVB", "DXB", "22:50", "15:45", None, 0, 0, _MWFS),
    ("G9", "0969", "OVB", "SHJ", "23:40", "16:30", None, 0, 0, _TTS),
    ("U6", "0201", "OVB", "DWC", "06:20", "14:15", "SVX", 155, 170, _WEEK),
    ("S7", "3625", "OVB", "AUH", "07:40", "10:30", "TAS", 210, 240, _WEEK),
    ("SU", "1491", "OVB", "RKT", "04:30", "11:30", "SVO", 335, 270, _WEEK),
    # --- Krasnodar ---
    ("A4", "0811", "KRR", "DXB", "11:10", "18:30", None, 0, 0, _WEEK),
    ("SU", "1107", "KRR", "DXB", "05:40", "15:10", "SVO", 240, 180, _WEEK),
    ("A4", "0815", "KRR", "SHJ", "15:25", "22:10", None, 0, 0, _TTS),
    ("SU", "1109", "KRR", "AUH", "16:50", "09:20", "SVO", 320, 250, _WEEK),
    ("U6", "2651", "KRR", "RKT", "08:15", "15:35", "MRV", 150, 170, _WEEK),
    # --- Ufa (+05:00) ---
    ("FZ", "950", "UFA", "DXB", "16:40", "10:05", None, 0, 0, _WEEK),
    ("UT", "0413", "UFA", "DWC", "09:30", "16:45", "VKO", 220, 240, _WEEK),
    ("G9", "0951", "UFA", "SHJ", "21:20", "15:05", None, 0, 0, _TTS),
    ("SU", "1233", "UFA", "AUH", "07:10", "09:20", "SVO", 640, 260, _WEEK),
    ("SU", "1235", "UFA", "RKT", "07:10", "11:30", "SVO", 600, 275, _WEEK),
)


def _build_lines() -> tuple[Line, ...]:
    lines: list[Line] = []
    for carrier, number, ru, uae, out_time, back_time, via, lay_out, lay_back, days in _OUTBOUND:
        lines.append(Line(carrier, number, ru, uae, _hm(out_time), via, lay_out, days))
        # the return runs the day pattern shifted by one: a night there, back the next day at worst
        back_days = frozenset((d + 1) % 7 for d in days) if days != _WEEK else _WEEK
        lines.append(Line(carrier, _next_number(number), uae, ru, _hm(back_time), via, lay_back, back_days))
    return tuple(lines)


LINES: tuple[Line, ...] = _build_lines()


def lines_between(origin_city: str, destination_city: str) -> tuple[Line, ...]:
    return tuple(
        line
        for line in LINES
        if line.origin_city == origin_city and line.destination_city == destination_city
    )


ROUTES: tuple[tuple[str, str], ...] = tuple(
    [(ru, uae) for ru in RUSSIAN_CITIES for uae in UAE_CITIES]
    + [(uae, ru) for ru in RUSSIAN_CITIES for uae in UAE_CITIES]
)

# Every route must be flown by something: a missing line would be a silent hole in the market.
_unserved = [route for route in ROUTES if not lines_between(*route)]
if _unserved:
    raise RuntimeError(f"sandbox routes without any line: {_unserved}")
