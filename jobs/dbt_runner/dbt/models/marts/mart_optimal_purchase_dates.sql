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

ranked as (
    -- Where each daily cheapest price sits among the route's other daily cheapest prices at the
    -- same horizon bucket. One sort per bucket instead of comparing every upcoming date with
    -- every past price: rank() - 1 prices are cheaper, the ties are the others with that price
    -- (the row itself left out; rows are unique per departure and observation day).
    select
        daily.*,
        rank() over bucket_by_price - 1 as cheaper_count,
        count(*) over (partition by route_id, trip_type, days_bucket, min_price) - 1 as equal_count,
        count(*) over (partition by route_id, trip_type, days_bucket) - 1 as history_observations
    from daily
    window bucket_by_price as (partition by route_id, trip_type, days_bucket order by min_price)
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
    select distinct on (ranked.route_id, ranked.trip_type, ranked.departure_date)
        ranked.*,
        as_of.as_of_date
    from ranked
    inner join as_of
        on as_of.route_id = ranked.route_id
        and as_of.trip_type = ranked.trip_type
    where ranked.departure_date >= as_of.as_of_date
    order by ranked.route_id, ranked.trip_type, ranked.departure_date, ranked.observed_date desc
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
        latest.history_observations,
        case
            when latest.history_observations >= {{ min_history }}
                then round((latest.cheaper_count + 0.5 * latest.equal_count) / latest.history_observations, 4)
        end as price_percentile,
        best_buckets.best_days_bucket,
        best_buckets.best_bucket_order
    from latest
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
