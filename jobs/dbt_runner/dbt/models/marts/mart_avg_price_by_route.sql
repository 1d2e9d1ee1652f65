{#- Price levels per route and departure month, for every airline together ('ALL') and each one,
    for every offer ('all'), non-stop ones ('direct') and the others ('with_stops').
    Statistics are over price observations (one offer seen on one observation day), read from
    int_route_month_daily_prices (the same observations grouped per observation day: no scan of
    the fact). Incremental by departure month: a new observation day rebuilds only the months it
    saw; medians stay exact (percentile_cont over every price of the month). -#}
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

{%- set changed_months = changed_partitions(ref("int_route_month_daily_prices"), "departure_month") %}
with

daily as (
    select * from {{ ref("int_route_month_daily_prices") }}
    where {{ partition_filter("departure_month", changed_months) }}
),

observations as (
    -- One row per observation again (its price; its departure date while the shorter list lasts):
    -- the daily row's own totals are counted once, on its first observation.
    select
        daily.*,
        observation.price,
        observation.departure_date,
        observation.position = 1 as is_first_of_day
    from daily
    cross join lateral unnest(daily.prices, daily.departure_dates)
        with ordinality as observation (price, departure_date, position)
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
        -- avg(price) = sum ÷ count: the same division of the same exact (numeric) sum
        round(sum(price_sum) filter (where is_first_of_day) / count(*), 2)::numeric(12, 2) as avg_price,
        percentile_cont(0.5) within group (order by price)::numeric(12, 2) as median_price,
        min(min_price)::numeric(12, 2) as min_price,
        max(max_price)::numeric(12, 2) as max_price,
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
