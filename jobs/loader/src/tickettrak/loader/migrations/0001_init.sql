-- 0001: the loader's tables. Contract with dbt (jobs/dbt_runner sources): after this file is
-- released, columns only ever get ADDED by later migrations, never renamed or dropped.

CREATE SCHEMA IF NOT EXISTS aviasales;

-- One row per RAW document (MongoDB tickettrak.raw_exchanges), error responses included.
CREATE TABLE aviasales.request_logs (
    raw_id          text        PRIMARY KEY,          -- the RAW _id as 24-char hex
    raw_seq         bigint      NOT NULL UNIQUE,      -- RAW seq (write order)
    schema_version  integer,
    request_id      text,
    request_key     text,
    endpoint        text,                             -- Data API path, e.g. /aviasales/v3/prices_for_dates
    -- request parameters exactly as sent (text where the API accepts YYYY-MM or YYYY-MM-DD)
    origin          text,
    destination     text,
    departure_at    text,
    return_at       text,
    one_way         boolean,
    direct          boolean,
    currency        text,                             -- as requested, lower-cased
    market          text,
    "limit"         integer,
    page            integer,
    query           jsonb,                            -- the whole query dict (token never in RAW)
    http_status     integer,                          -- null on transport error
    body_format     text,                             -- json / json_text / text / empty / none
    success         boolean     NOT NULL,             -- 2xx, parseable body, envelope success not false
    error           text,                             -- transport error, API error text or HTTP status
    offers_count    integer,                          -- offers in the body (before quarantine); null if unreadable
    requested_at    timestamptz,
    received_at     timestamptz,
    duration_ms     double precision,
    written_at      timestamptz,
    run_id          text,
    logical_date    date,
    raw             jsonb       NOT NULL,             -- the whole RAW document (datetimes as ISO-8601 UTC)
    loaded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_logs_logical_date_idx ON aviasales.request_logs (logical_date);

-- One row per offer per observation day. An offer's identity (offer_id) does not include the
-- endpoint: when two endpoints report the same flights on the same day it is one row, and the
-- sighting from the latest RAW document (highest raw_seq) wins, whatever the load order.
CREATE TABLE aviasales.tickets (
    observed_date       date        NOT NULL,         -- the run's logical date (fallback: requested_at UTC date)
    offer_id            text        NOT NULL,         -- sha256 of the identity fields incl. the return leg
    trip_type           text        NOT NULL CHECK (trip_type IN ('one_way', 'round_trip')),
    endpoint            text        NOT NULL,
    shape               text        NOT NULL,         -- v3_list / v3_grouped / v2_list
    raw_id              text        NOT NULL REFERENCES aviasales.request_logs (raw_id) ON DELETE CASCADE,
    raw_seq             bigint      NOT NULL,
    item_path           text        NOT NULL,         -- where in the body, e.g. data[3] or data.2025-12-12
    origin              text        NOT NULL,         -- city (or airport) code
    destination         text        NOT NULL,
    origin_airport      text,
    destination_airport text,
    airline             text,                         -- IATA of the outbound carrier
    flight_number       text,                         -- text: leading zeros matter ("099")
    departure_at        timestamptz,                  -- v3: instant with its offset applied; v2: null (date only)
    return_at           timestamptz,
    departure_date      date        NOT NULL,         -- LOCAL date of departure (as printed in the API)
    return_date         date,                         -- LOCAL date of return; null for one-way
    price               numeric(14, 2) NOT NULL CHECK (price >= 0),
    currency            text        NOT NULL,         -- lower case, e.g. rub
    transfers           integer,
    return_transfers    integer,
    duration            integer,                      -- minutes
    duration_to         integer,
    duration_back       integer,
    gate                text,                         -- v2
    trip_class          integer,                      -- v2
    distance            integer,                      -- v2 (-1 = unknown in the API)
    link                text,                         -- relative deep link as sent
    deep_link           text,                         -- https://www.aviasales.ru + link
    search_date         date,                         -- from search_date=DDMMYYYY in the link
    found_at            timestamptz,                  -- v2; no zone in the body is read as UTC
    loaded_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (observed_date, offer_id),
    CHECK (return_at IS NULL OR departure_at IS NULL OR return_at >= departure_at),
    CHECK (return_date IS NULL OR return_date >= departure_date)
);
CREATE INDEX tickets_raw_id_idx ON aviasales.tickets (raw_id);
CREATE INDEX tickets_route_idx ON aviasales.tickets (origin, destination, departure_date);

-- The watermark: the highest RAW seq whose document is loaded (the source is the collection name).
CREATE TABLE aviasales.load_state (
    source          text        PRIMARY KEY,
    watermark_seq   bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Quarantine: every document or offer that could not load, with why and the offending fragment.
CREATE TABLE aviasales.load_errors (
    id              bigserial   PRIMARY KEY,
    raw_id          text        NOT NULL,
    raw_seq         bigint,
    item_path       text        NOT NULL,             -- '' for the whole document, else e.g. data[3]
    reason          text        NOT NULL,             -- stable code, e.g. negative_price
    detail          text,                             -- human-readable explanation
    fragment        jsonb,                            -- the offending JSON fragment, when it is JSON
    fragment_text   text,                             -- or the text (non-JSON bodies), truncated
    at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (raw_id, item_path, reason)                -- reloading a document never duplicates its errors
);
