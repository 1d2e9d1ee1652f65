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
{%- set levels = "route_id, origin, destination, trip_type, departure_month, grouping sets ((), (airline), (stops), (airline, stops))" %}

with

daily as (
    select * from {{ ref("int_route_month_daily_prices") }}
    where {{ partition_filter("departure_month", changed_months) }}
),

totals as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_month,
        case when grouping(airline) = 1 then 'ALL' else airline end as airline,
        case when grouping(stops) = 1 then 'all' else stops end as stops,
        min(currency) as currency,
        -- avg(price) is sum ÷ count: the same division on the same exact sums
        round(sum(price_sum) / sum(offers_count), 2)::numeric(12, 2) as avg_price,
        min(min_price)::numeric(12, 2) as min_price,
        max(max_price)::numeric(12, 2) as max_price,
        sum(offers_count)::bigint as offers_count,
        max(loaded_at) as loaded_at
    from daily
    group by {{ levels }}
),

medians as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_month,
        case when grouping(airline) = 1 then 'ALL' else airline end as airline,
        case when grouping(stops) = 1 then 'all' else stops end as stops,
        percentile_cont(0.5) within group (order by price)::numeric(12, 2) as median_price
    from daily
    cross join lateral unnest(daily.prices) as prices (price)
    group by {{ levels }}
),

departure_dates as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_month,
        case when grouping(airline) = 1 then 'ALL' else airline end as airline,
        case when grouping(stops) = 1 then 'all' else stops end as stops,
        count(distinct departure_date) as departure_dates_count
    from daily
    cross join lateral unnest(daily.departure_dates) as dates (departure_date)
    group by {{ levels }}
),

aggregated as (
    select
        totals.route_id,
        totals.origin,
        totals.destination,
        totals.trip_type,
        totals.departure_month,
        totals.airline,
        totals.stops,
        totals.currency,
        totals.avg_price,
        medians.median_price,
        totals.min_price,
        totals.max_price,
        totals.offers_count,
        departure_dates.departure_dates_count,
        totals.loaded_at
    from totals
    inner join medians using (route_id, origin, destination, trip_type, departure_month, airline, stops)
    inner join departure_dates using (route_id, origin, destination, trip_type, departure_month, airline, stops)
)

select
    aggregated.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from aggregated
