{#- Routes (city pair, direction matters) seen in the fact, with city names and countries.
    Incremental like dim_airline; first/last observation days merge with the known ones. -#}
{{ config(materialized="incremental", incremental_strategy="delete+insert", unique_key="route_id") }}

{%- set changed_days = changed_partitions(ref("fct_price_observations"), "observed_date") %}

with

observations as (
    select route_id, origin, destination, observed_date, loaded_at
    from {{ ref("fct_price_observations") }}
    where {{ partition_filter("observed_date", changed_days) }}
),

cities as (
    select * from {{ ref("cities") }}
),

seen as (
    select
        route_id,
        origin,
        destination,
        min(observed_date) as first_observed_date,
        max(observed_date) as last_observed_date,
        max(loaded_at) as loaded_at
    from observations
    group by route_id, origin, destination
    {% if is_incremental() %}
    union all
    select route_id, origin, destination, first_observed_date, last_observed_date, loaded_at
    from {{ this }}
    {% endif %}
),

per_route as (
    select
        route_id,
        origin,
        destination,
        min(first_observed_date) as first_observed_date,
        max(last_observed_date) as last_observed_date,
        max(loaded_at) as loaded_at
    from seen
    group by route_id, origin, destination
),

final as (
    select
        per_route.route_id,
        per_route.origin,
        per_route.destination,
        origin_city.city_name as origin_city_name,
        destination_city.city_name as destination_city_name,
        origin_city.country_code as origin_country_code,
        destination_city.country_code as destination_country_code,
        per_route.first_observed_date,
        per_route.last_observed_date,
        per_route.loaded_at
    from per_route
    left join cities as origin_city on origin_city.city_code = per_route.origin
    left join cities as destination_city on destination_city.city_code = per_route.destination
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
