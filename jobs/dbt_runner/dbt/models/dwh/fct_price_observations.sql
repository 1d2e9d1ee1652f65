{#- Grain: one offer seen on one observation day. Incremental by observation day: a run deletes
    and re-inserts only the days whose tickets were loaded since the last build (a re-collected
    or back-filled day included), so a daily run costs in proportion to the new day. -#}
{{
    config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="observed_date",
        on_schema_change="fail",
        indexes=[
            {"columns": ["observed_date"]},
            {"columns": ["departure_month"]},
            {"columns": ["loaded_at"]},
            {"columns": ["dbt_batch_at"]},
        ],
    )
}}

{%- set changed_days = changed_partitions(ref("stg_aviasales__tickets"), "observed_date") %}

with

sightings as (
    select * from {{ ref("int_price_sightings_deduplicated") }}
    where {{ partition_filter("observed_date", changed_days) }}
),

final as (
    select
        observation_id,
        offer_id,
        origin || '-' || destination as route_id,
        origin,
        destination,
        origin_airport,
        destination_airport,
        -- v2 shapes may not name the carrier; the marts need a value to group by.
        coalesce(airline, 'UNKNOWN') as airline,
        flight_number,
        trip_type,
        observed_date,
        extract(isodow from observed_date)::integer as purchase_weekday,
        departure_at,
        departure_date,
        date_trunc('month', departure_date)::date as departure_month,
        return_at,
        return_date,
        departure_date - observed_date as days_before_departure,
        transfers,
        return_transfers,
        coalesce(transfers = 0 and coalesce(return_transfers, 0) = 0, false) as is_direct,
        price,
        currency,
        duration_minutes,
        endpoint,
        response_shape,
        sighted_date,
        raw_id,
        raw_seq,
        loaded_at
    from sightings
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
