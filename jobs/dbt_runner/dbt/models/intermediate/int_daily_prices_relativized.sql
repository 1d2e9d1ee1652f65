{#- Each departure date's daily cheapest price (from mart_price_dynamics) relative to its
    eventual minimum: the lowest daily price that departure date ever had. 1.00 = the best price
    it got; 1.25 = 25% above it. Rows carry their days-before-departure bucket and purchase
    weekday, and whether their departure date counts for best-time-to-buy (`is_eligible`): it
    has departed by the route's latest observation day (so its eventual minimum is known: an
    upcoming date seen only far ahead would make the far buckets look cheapest) and was observed
    on at least var('min_observation_days') distinct days. -#}
{{ config(schema="dwh", materialized="table", post_hook="{{ analyze_after_rebuild() }}") }}

{%- set min_days = var("min_observation_days") | int %}
{%- if min_days < 2 %}
    {{ exceptions.raise_compiler_error(
        "var min_observation_days must be at least 2: best-time-to-buy is never computed from a single extraction day"
    ) }}
{%- endif %}

with

daily as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_date,
        observed_date,
        days_before_departure,
        min_price
    from {{ ref("mart_price_dynamics") }}
    -- An observation after departure cannot be a purchase opportunity.
    where days_before_departure >= 0
),

per_departure as (
    select
        *,
        min(min_price) over departure_window as eventual_min_price,
        count(*) over departure_window as observed_days_count,
        max(observed_date) over (partition by route_id, trip_type) as route_as_of_date
    from daily
    window departure_window as (partition by route_id, trip_type, departure_date)
),

final as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_date,
        observed_date,
        days_before_departure,
        {{ days_bucket("days_before_departure", "label") }} as days_bucket,
        {{ days_bucket("days_before_departure", "order") }} as bucket_order,
        extract(isodow from observed_date)::integer as purchase_weekday,
        min_price,
        eventual_min_price,
        round(min_price / eventual_min_price, 4) as relative_price,
        observed_days_count,
        departure_date <= route_as_of_date as is_departed,
        departure_date <= route_as_of_date and observed_days_count >= {{ min_days }} as is_eligible
    from per_departure
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
