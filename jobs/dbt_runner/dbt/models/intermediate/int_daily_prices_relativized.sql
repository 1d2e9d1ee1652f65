{#- Each departure date's daily cheapest price (from mart_price_dynamics) relative to its
    eventual minimum: the lowest daily price that departure date ever had. 1.00 = the best price
    it got; 1.25 = 25% above it. Rows carry their days-before-departure bucket and purchase
    weekday, and whether their departure date counts for best-time-to-buy (`is_eligible`): it
    has departed by the route's latest observation day (so its eventual minimum is known: an
    upcoming date seen only far ahead would make the far buckets look cheapest) and was observed
    on at least var('min_observation_days') distinct days.
    Incremental by departure date: a run rewrites every row of the departure dates it can change
    (those mart_price_dynamics rewrote an observation day of, those this table had on such a
    day, and those that departed between the route's previous and new latest observation day);
    the others keep rows identical to a rebuild (their eventual minimum, day count and departed
    flag cannot change). A departure date left with no observation at all (a re-collected day
    dropped its only sighting) is removed by the post-hook. -#}
{{
    config(
        schema="dwh",
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key=["route_id", "trip_type", "departure_date"],
        on_schema_change="append_new_columns",
        post_hook=["{{ analyze_after_rebuild() }}", "{{ delete_vanished_departures() }}"],
    )
}}

{%- set min_days = var("min_observation_days") | int %}
{%- if min_days < 2 %}
    {{ exceptions.raise_compiler_error(
        "var min_observation_days must be at least 2: best-time-to-buy is never computed from a single extraction day"
    ) }}
{%- endif %}
{#- A table built before this model was incremental has no loaded_at: rebuild every row once
    (on_schema_change adds the column). -#}
{%- set upgrading = is_incremental() and execute
    and "loaded_at" not in (adapter.get_columns_in_relation(this) | map(attribute="name") | list) %}
{%- set partial_run = is_incremental() and not upgrading %}
{%- set changed_days = changed_partitions(ref("mart_price_dynamics"), "observed_date") if partial_run else none %}

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
        min_price,
        loaded_at
    from {{ ref("mart_price_dynamics") }}
    -- An observation after departure cannot be a purchase opportunity.
    where days_before_departure >= 0
),

as_of as (
    select route_id, trip_type, max(observed_date) as route_as_of_date
    from daily
    group by route_id, trip_type
),

{% if partial_run %}
affected as (
    -- departure dates with an observation on a changed day, now or before this run
    select route_id, trip_type, departure_date
    from daily
    where {{ partition_filter("observed_date", changed_days) }}
    union
    select route_id, trip_type, departure_date
    from {{ this }}
    where {{ partition_filter("observed_date", changed_days) }}
    union
    -- departure dates whose departed flag flips: between the previous and the new as-of day
    select daily.route_id, daily.trip_type, daily.departure_date
    from daily
    inner join as_of
        on as_of.route_id = daily.route_id
        and as_of.trip_type = daily.trip_type
    inner join (
        select route_id, trip_type, max(observed_date) as route_as_of_date
        from {{ this }}
        group by route_id, trip_type
    ) as previous
        on previous.route_id = daily.route_id
        and previous.trip_type = daily.trip_type
    where daily.departure_date > least(previous.route_as_of_date, as_of.route_as_of_date)
        and daily.departure_date <= greatest(previous.route_as_of_date, as_of.route_as_of_date)
),
{% endif %}

per_departure as (
    select
        daily.*,
        min(daily.min_price) over departure_window as eventual_min_price,
        count(*) over departure_window as observed_days_count,
        as_of.route_as_of_date
    from daily
    inner join as_of
        on as_of.route_id = daily.route_id
        and as_of.trip_type = daily.trip_type
    {% if partial_run %}
    where (daily.route_id, daily.trip_type, daily.departure_date) in (select * from affected)
    {% endif %}
    window departure_window as (partition by daily.route_id, daily.trip_type, daily.departure_date)
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
        departure_date <= route_as_of_date and observed_days_count >= {{ min_days }} as is_eligible,
        loaded_at
    from per_departure
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
