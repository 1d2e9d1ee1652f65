{#- The inputs of mart_avg_price_by_route, kept per observation day: for each route, trip type,
    departure month, airline, stops ('direct' / 'with_stops') and observation day, the count, sum,
    min and max of the prices, the prices themselves (float8, the type percentile_cont sorts: the
    mart's medians stay exact) and the departure dates seen.
    Why: a new observation day touches the departure months of the next ~90 days, which at a short
    history hold most of the fact; the mart's exact medians need every price of those months.
    Reading them here (a few thousand rows of arrays) instead of the fact (millions of wide rows,
    found by a scan of the whole fact) is what keeps the daily run small.
    Incremental by observation day, like the fact (a re-collected day is replaced whole). -#}
{{
    config(
        schema="dwh",
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="observed_date",
        on_schema_change="fail",
        indexes=[{"columns": ["observed_date"]}, {"columns": ["departure_month"]}, {"columns": ["loaded_at"]}],
        post_hook="{{ analyze_after_rebuild() }}",
    )
}}

{%- set changed_days = changed_partitions(ref("fct_price_observations"), "observed_date") %}

with

observations as (
    select
        *,
        case when is_direct then 'direct' else 'with_stops' end as stops
    from {{ ref("fct_price_observations") }}
    where currency = '{{ var("mart_currency") }}'
        and {{ partition_filter("observed_date", changed_days) }}
),

final as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_month,
        airline,
        stops,
        observed_date,
        min(currency) as currency,
        count(*) as offers_count,
        sum(price) as price_sum,
        min(price) as min_price,
        max(price) as max_price,
        array_agg(price::float8 order by price) as prices,  -- sorted: a deterministic row
        array_agg(distinct departure_date) as departure_dates,
        max(loaded_at) as loaded_at
    from observations
    group by route_id, origin, destination, trip_type, departure_month, airline, stops, observed_date
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
