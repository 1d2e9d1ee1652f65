{#- Which weekday of purchase is cheapest, per route and trip type: the median relative price of
    the daily cheapest offer by the ISO weekday it was observed, over the same eligible departure
    dates as mart_best_time_to_buy (never a single extraction day). -#}
{{ config(contract={"enforced": true}) }}

with

eligible as (
    select * from {{ ref("int_daily_prices_relativized") }}
    where is_eligible
),

per_weekday as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        purchase_weekday,
        percentile_cont(0.5) within group (order by relative_price)::numeric(10, 4) as median_relative_price,
        count(*) as observations_count,
        count(distinct departure_date) as departure_dates_count
    from eligible
    group by route_id, origin, destination, trip_type, purchase_weekday
),

ranked as (
    select
        *,
        row_number() over (
            partition by route_id, trip_type
            order by median_relative_price, observations_count desc, purchase_weekday
        ) as rank_in_route
    from per_weekday
),

final as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        purchase_weekday,
        (array['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'])[
            purchase_weekday
        ] as weekday_name,
        median_relative_price,
        observations_count,
        departure_dates_count,
        rank_in_route = 1 as is_best_weekday
    from ranked
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
