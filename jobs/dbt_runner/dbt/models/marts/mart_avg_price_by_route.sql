{#- Price levels per route and departure month, for every airline together ('ALL') and each one,
    for every offer ('all'), non-stop ones ('direct') and the others ('with_stops').
    Statistics are over price observations (one offer seen on one observation day).
    Incremental by departure month: a new observation day rebuilds only the months it saw. -#}
{{
    config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="departure_month",
        on_schema_change="fail",
        contract={"enforced": true},
        indexes=[{"columns": ["departure_month"]}, {"columns": ["dbt_batch_at"]}],
    )
}}

{%- set changed_months = changed_partitions(ref("fct_price_observations"), "departure_month") %}

with

observations as (
    select
        *,
        case when is_direct then 'direct' else 'with_stops' end as stops
    from {{ ref("fct_price_observations") }}
    where currency = '{{ var("mart_currency") }}'
        and {{ partition_filter("departure_month", changed_months) }}
),

aggregated as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_month,
        case when grouping(airline) = 1 then 'ALL' else airline end as airline,
        case when grouping(stops) = 1 then 'all' else stops end as stops,
        min(currency) as currency,
        round(avg(price), 2)::numeric(12, 2) as avg_price,
        percentile_cont(0.5) within group (order by price)::numeric(12, 2) as median_price,
        min(price)::numeric(12, 2) as min_price,
        max(price)::numeric(12, 2) as max_price,
        count(*) as offers_count,
        count(distinct departure_date) as departure_dates_count,
        max(loaded_at) as loaded_at
    from observations
    group by
        route_id, origin, destination, trip_type, departure_month,
        grouping sets ((), (airline), (stops), (airline, stops))
)

select
    aggregated.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from aggregated
