{#- Airports seen in the fact (both ends), with their city and country from the seeds.
    Incremental like dim_airline: the new days' airports merged with the known ones. -#}
{{ config(materialized="incremental", incremental_strategy="delete+insert", unique_key="airport_code") }}

{%- set changed_days = changed_partitions(ref("fct_price_observations"), "observed_date") %}

with

observations as (
    select origin_airport, origin, destination_airport, destination, loaded_at
    from {{ ref("fct_price_observations") }}
    where {{ partition_filter("observed_date", changed_days) }}
),

airports as (
    select * from {{ ref("airports") }}
),

cities as (
    select * from {{ ref("cities") }}
),

seen as (
    select origin_airport as airport_code, origin as city_code, loaded_at
    from observations
    where origin_airport is not null
    union all
    select destination_airport, destination, loaded_at
    from observations
    where destination_airport is not null
    {% if is_incremental() %}
    union all
    select airport_code, city_code, loaded_at from {{ this }}
    {% endif %}
),

per_airport as (
    select
        airport_code,
        -- An airport belongs to one city; the data says which, the seed wins when it knows.
        min(city_code) as seen_city_code,
        max(loaded_at) as loaded_at
    from seen
    group by airport_code
),

final as (
    select
        per_airport.airport_code,
        coalesce(airports.airport_name, per_airport.airport_code) as airport_name,
        coalesce(airports.city_code, per_airport.seen_city_code) as city_code,
        cities.city_name,
        cities.country_code,
        cities.timezone,
        airports.airport_code is not null as is_known,
        per_airport.loaded_at
    from per_airport
    left join airports on airports.airport_code = per_airport.airport_code
    left join cities on cities.city_code = coalesce(airports.city_code, per_airport.seen_city_code)
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
