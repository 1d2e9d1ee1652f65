{#- The price history of each departure date: per observation day, the cheapest offer and the
    median offer. Incremental by observation day, like the fact it reads. -#}
{{
    config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="observed_date",
        on_schema_change="fail",
        contract={"enforced": true},
        indexes=[{"columns": ["observed_date"]}, {"columns": ["loaded_at"]}, {"columns": ["dbt_batch_at"]}],
    )
}}

{%- set changed_days = changed_partitions(ref("fct_price_observations"), "observed_date") %}

with

observations as (
    select * from {{ ref("fct_price_observations") }}
    where currency = '{{ var("mart_currency") }}'
        and {{ partition_filter("observed_date", changed_days) }}
),

final as (
    select
        route_id,
        origin,
        destination,
        trip_type,
        departure_date,
        observed_date,
        departure_date - observed_date as days_before_departure,
        min(price)::numeric(12, 2) as min_price,
        percentile_cont(0.5) within group (order by price)::numeric(12, 2) as median_price,
        count(*) as offers_count,
        min(currency) as currency,
        max(loaded_at) as loaded_at
    from observations
    group by route_id, origin, destination, trip_type, departure_date, observed_date
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
