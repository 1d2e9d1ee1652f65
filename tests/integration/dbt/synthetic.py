"""Synthetic price history, generated inside PostgreSQL (generate_series), for dbt tests and the bench.

Rows go straight into the loader's tables (`aviasales.request_logs`, `aviasales.tickets`) with the
columns its migrations define, as if a collector had asked each route for each departure date on
each observation day. Prices follow a known shape: cheapest around `cheapest_days` before departure,
dearer towards departure and far out, plus deterministic noise, so tests can check what the marts
recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

# (origin city, destination city, origin airport, destination airport, base price RUB)
ROUTES: tuple[tuple[str, str, str, str, int], ...] = (
    ("MOW", "DXB", "SVO", "DXB", 18000),
    ("DXB", "MOW", "DXB", "VKO", 19000),
    ("LED", "DXB", "LED", "DWC", 24000),
    ("SVX", "DXB", "SVX", "DXB", 26000),
    ("KZN", "DXB", "KZN", "DXB", 27000),
    ("MOW", "AUH", "DME", "AUH", 21000),
)
AIRLINES = ("SU", "FZ", "EK", "U6", "DP", "S7")


@dataclass(frozen=True)
class History:
    first_observed: date = date(2026, 1, 1)
    observation_days: int = 50
    horizon_days: int = 40  # departures 1..horizon days after each observation day
    offers_per_departure: int = 3
    routes: int = 2
    cheapest_days: int = 35  # the price minimum sits this many days before departure

    @property
    def rows_per_day(self) -> int:
        return self.routes * self.horizon_days * self.offers_per_departure

    @property
    def last_observed(self) -> date:
        return self.first_observed + timedelta(days=self.observation_days - 1)


def _routes_values(count: int) -> str:
    rows = [f"({i}, '{o}', '{d}', '{oa}', '{da}', {p})" for i, (o, d, oa, da, p) in enumerate(ROUTES[:count])]
    return "values " + ", ".join(rows)


# What `tickettrak load` does to its session (migration 0002): its writes request no full dbt
# rebuild. The generator writes as the loader would, so a test's new day stays incremental.
AS_THE_LOADER = "select set_config('tickettrak.loading', 'on', false);"


def insert_days_sql(history: History, first_day: date, days: int, loaded_at: str = "now()") -> str:
    """SQL inserting `days` observation days starting at `first_day` (request logs, then tickets)."""
    airlines = "array[" + ", ".join(f"'{a}'" for a in AIRLINES) + "]"
    return (
        AS_THE_LOADER
        + f"""
with routes (route_no, origin, destination, origin_airport, destination_airport, base_price) as (
    {_routes_values(history.routes)}
),
requests as (
    select
        md5(r.origin || r.destination || d::date || k) as raw_id,
        -- unique per (day, route, departure): the RAW write order of a real collection
        (d::date - date '2000-01-01')::bigint * 100000 + r.route_no * 1000 + k as raw_seq,
        r.*, d::date as observed_date, k as days_ahead, (d::date + k) as departure_date
    from routes r
    cross join generate_series('{first_day}'::date, '{first_day}'::date + {days - 1}, interval '1 day') as d
    cross join generate_series(1, {history.horizon_days}) as k
),
inserted_requests as (
    insert into aviasales.request_logs (
        raw_id, raw_seq, endpoint, origin, destination, departure_at, one_way, direct, currency,
        market, http_status, body_format, success, offers_count, requested_at, received_at,
        duration_ms, run_id, logical_date, raw, loaded_at
    )
    select
        raw_id, raw_seq, '/aviasales/v3/prices_for_dates', origin, destination,
        departure_date::text, false, false, 'rub', 'ru', 200, 'json', true,
        {history.offers_per_departure}, observed_date + time '06:00', observed_date + time '06:00:01',
        1000.0, 'synthetic', observed_date, '{{}}'::jsonb, {loaded_at}
    from requests
    returning raw_id
)
insert into aviasales.tickets (
    observed_date, offer_id, trip_type, endpoint, shape, raw_id, raw_seq, item_path,
    origin, destination, origin_airport, destination_airport, airline, flight_number,
    departure_at, return_at, departure_date, return_date, price, currency, transfers,
    return_transfers, duration, duration_to, duration_back, link, deep_link, search_date, loaded_at
)
select
    q.observed_date,
    md5(q.origin || q.destination || q.departure_date || j),
    case when j % 2 = 0 then 'round_trip' else 'one_way' end,
    '/aviasales/v3/prices_for_dates',
    'v3_list',
    q.raw_id,
    q.raw_seq,
    'data[' || (j - 1) || ']',
    q.origin,
    q.destination,
    q.origin_airport,
    q.destination_airport,
    ({airlines})[1 + (q.route_no + j) % {len(AIRLINES)}],
    lpad((100 + j * 7)::text, 3, '0'),
    (q.departure_date + time '08:00' + (j * interval '17 minutes')) at time zone 'Europe/Moscow',
    case when j % 2 = 0 then (q.departure_date + 5 + time '17:30') at time zone 'Asia/Dubai' end,
    q.departure_date,
    case when j % 2 = 0 then q.departure_date + 5 end,
    -- U-shaped price: cheapest {history.cheapest_days} days out, + offer rank, + deterministic noise.
    round(q.base_price * (1
        + 0.9 * greatest({history.cheapest_days} - q.days_ahead, 0)::numeric / {history.cheapest_days}
        + 0.4 * greatest(q.days_ahead - {history.cheapest_days}, 0)::numeric / 60)
        * (case when j % 2 = 0 then 1.9 else 1 end)
        + j * 350
        + (abs(hashtext(q.raw_id || j)) % 900))::integer,
    'rub',
    (j % 3 = 0)::int,
    case when j % 2 = 0 then 0 end,
    300 + j,
    300 + j,
    case when j % 2 = 0 then 300 end,
    '/search/' || q.raw_id || '?search_date=' || to_char(q.observed_date - 1, 'DDMMYYYY'),
    'https://www.aviasales.ru/search/' || q.raw_id,
    q.observed_date - 1,
    {loaded_at}
from requests q
cross join generate_series(1, {history.offers_per_departure}) as j
where exists (select 1 from inserted_requests i where i.raw_id = q.raw_id)
"""
    )


def insert_history(conn: Any, history: History) -> None:
    """Insert the whole history, one observation day per statement (bounded memory)."""
    for offset in range(history.observation_days):
        conn.execute(insert_days_sql(history, history.first_observed + timedelta(days=offset), 1))
