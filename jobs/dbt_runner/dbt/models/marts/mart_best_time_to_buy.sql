{#- How many days before departure is cheapest, per route and trip type: the median relative
    price (daily cheapest ÷ the departure date's eventual minimum) in each bucket, over departure
    dates observed on at least var('min_observation_days') distinct days. The best bucket has the
    lowest median among buckets backed by var('min_bucket_departure_dates') departure dates. -#}
{{ config(contract={"enforced": true}) }}

{%- set min_dates = var("min_bucket_departure_dates") | int %}

with

eligible as (
    select * from {{ ref("int_daily_prices_relativized") }}
    where is_eligible
),

buckets as (
    select * from {{ days_buckets_values() }}
),

per_bucket as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        days_bucket,
        percentile_cont(0.5) within group (order by relative_price)::numeric(10, 4) as median_relative_price,
        count(distinct departure_date) as departure_dates_count,
        count(*) as observations_count
    from eligible
    group by route_id, origin, destination, trip_type, days_bucket
),

ranked as (
    select
        per_bucket.*,
        buckets.bucket_order,
        buckets.bucket_min_days,
        buckets.bucket_max_days,
        -- Ties go to the earlier bucket (more days before departure): same price, less risk.
        row_number() over (
            partition by per_bucket.route_id, per_bucket.trip_type, per_bucket.departure_dates_count >= {{ min_dates }}
            order by per_bucket.median_relative_price, buckets.bucket_order desc
        ) as rank_in_route
    from per_bucket
    inner join buckets on buckets.days_bucket = per_bucket.days_bucket
),

final as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        days_bucket,
        bucket_order,
        bucket_min_days,
        bucket_max_days,
        median_relative_price,
        departure_dates_count,
        observations_count,
        departure_dates_count >= {{ min_dates }} and rank_in_route = 1 as is_best_bucket
    from ranked
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
