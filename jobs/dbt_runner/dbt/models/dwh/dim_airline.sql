{#- Airlines seen in the fact, named from the `airlines` seed. Incremental: a run adds the
    airlines of the new observation days; a known code is replaced by the same row. -#}
{{ config(materialized="incremental", incremental_strategy="delete+insert", unique_key="airline_code") }}

{%- set changed_days = changed_partitions(ref("fct_price_observations"), "observed_date") %}

with

observations as (
    select airline, loaded_at from {{ ref("fct_price_observations") }}
    where {{ partition_filter("observed_date", changed_days) }}
),

airlines as (
    select * from {{ ref("airlines") }}
),

{% if is_incremental() %}
known as (
    select airline_code, loaded_at from {{ this }}
),
{% endif %}

seen as (
    select airline as airline_code, max(loaded_at) as loaded_at
    from observations
    group by airline
    {% if is_incremental() %}
    union all
    select airline_code, loaded_at from known
    {% endif %}
),

final as (
    select
        seen.airline_code,
        coalesce(airlines.airline_name, seen.airline_code) as airline_name,
        airlines.airline_code is not null as is_known,
        max(seen.loaded_at) as loaded_at
    from seen
    left join airlines on airlines.airline_code = seen.airline_code
    group by seen.airline_code, airlines.airline_name, airlines.airline_code
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
