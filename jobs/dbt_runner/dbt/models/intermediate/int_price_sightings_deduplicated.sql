{#- Price sightings at the grain "one offer seen on one observation day": the loader keys tickets
    by (observed_date, offer_id) already; this view makes the grain explicit for the DWH (the
    latest RAW sighting wins, as in the loader) and keeps only real prices (a price of 0 is the
    API's "no price", not an offer).
    A view: the fact filters it by observation day, and PostgreSQL pushes that filter below the
    DISTINCT ON (a key column), so an incremental run reads only the new days. -#}
with

tickets as (
    select * from {{ ref("stg_aviasales__tickets") }}
    where price > 0
),

deduplicated as (
    select distinct on (observed_date, offer_id) *
    from tickets
    order by observed_date, offer_id, raw_seq desc
)

select
    observed_date::text || ':' || offer_id as observation_id,
    *
from deduplicated
