{#- For each upcoming departure date of each route: its latest observed cheapest price, where that
    price sits among the route's past daily cheapest prices at the same horizon (bucket), a verdict
    and a buy-now / wait recommendation. The rule is documented in _marts__models.yml. -#}
{{ config(contract={"enforced": true}) }}

{%- set low = var("low_price_percentile") | float %}
{%- set high = var("high_price_percentile") | float %}
{%- set min_history = var("min_history_observations") | int %}

with

daily as (
    select * from {{ ref("int_daily_prices_relativized") }}
),

best_buckets as (
    select route_id, trip_type, days_bucket as best_days_bucket, bucket_order as best_bucket_order
    from {{ ref("mart_best_time_to_buy") }}
    where is_best_bucket
),

as_of as (
    -- "Upcoming" is relative to the route's latest observation day, never to now().
    select route_id, trip_type, max(observed_date) as as_of_date
    from daily
    group by route_id, trip_type
),

latest as (
    select distinct on (daily.route_id, daily.trip_type, daily.departure_date)
        daily.*,
        as_of.as_of_date
    from daily
    inner join as_of
        on as_of.route_id = daily.route_id
        and as_of.trip_type = daily.trip_type
    where daily.departure_date >= as_of.as_of_date
    order by daily.route_id, daily.trip_type, daily.departure_date, daily.observed_date desc
),

history as (
    -- Every other daily cheapest price of the route at the same horizon bucket.
    select
        latest.route_id,
        latest.trip_type,
        latest.departure_date,
        count(past.min_price) as history_observations,
        count(past.min_price) filter (where past.min_price < latest.min_price) as cheaper_count,
        count(past.min_price) filter (where past.min_price = latest.min_price) as equal_count
    from latest
    left join daily as past
        on past.route_id = latest.route_id
        and past.trip_type = latest.trip_type
        and past.days_bucket = latest.days_bucket
        and not (past.departure_date = latest.departure_date and past.observed_date = latest.observed_date)
    group by latest.route_id, latest.trip_type, latest.departure_date
),

scored as (
    select
        latest.route_id,
        latest.origin,
        latest.destination,
        latest.trip_type,
        latest.departure_date,
        latest.as_of_date,
        latest.observed_date as latest_observed_date,
        latest.days_before_departure,
        latest.days_bucket,
        latest.bucket_order,
        latest.min_price as latest_min_price,
        history.history_observations,
        case
            when history.history_observations >= {{ min_history }}
                then round((history.cheaper_count + 0.5 * history.equal_count) / history.history_observations, 4)
        end as price_percentile,
        best_buckets.best_days_bucket,
        best_buckets.best_bucket_order
    from latest
    inner join history
        on history.route_id = latest.route_id
        and history.trip_type = latest.trip_type
        and history.departure_date = latest.departure_date
    left join best_buckets
        on best_buckets.route_id = latest.route_id
        and best_buckets.trip_type = latest.trip_type
),

verdicts as (
    select
        *,
        case
            when price_percentile is null then 'typical'
            when price_percentile <= {{ low }} then 'low'
            when price_percentile >= {{ high }} then 'high'
            else 'typical'
        end as verdict
    from scored
),

final as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_date,
        as_of_date,
        latest_observed_date,
        days_before_departure,
        days_bucket,
        latest_min_price,
        '{{ var("mart_currency") }}'::text as currency,
        price_percentile::numeric(6, 4) as price_percentile,
        verdict,
        best_days_bucket,
        case
            when verdict = 'low' then 'buy_now'
            when best_bucket_order is not null and bucket_order <= best_bucket_order then 'buy_now'
            when best_bucket_order is not null then 'wait'
            when verdict = 'high' then 'wait'
            else 'buy_now'
        end as recommendation,
        case
            when verdict = 'low' then 'price is low for this horizon'
            when best_bucket_order is not null and bucket_order <= best_bucket_order
                then 'the cheapest booking window has been reached'
            when best_bucket_order is not null then 'the cheapest booking window is still ahead'
            when verdict = 'high' then 'price is high for this horizon'
            else 'no known cheaper window'
        end as recommendation_reason,
        history_observations
    from verdicts
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
