{#- Every day from the first observation to the end of the last departure month: small, rebuilt
    each run from the fact's indexed bounds (no scan of the fact). -#}
with

bounds as (
    select
        min(observed_date) as first_day,
        greatest(
            max(observed_date),
            (max(departure_month) + interval '1 month' - interval '1 day')::date
        ) as last_day
    from {{ ref("fct_price_observations") }}
),

days as (
    select generate_series(first_day, last_day, interval '1 day')::date as date_day
    from bounds
    where first_day is not null
),

final as (
    select
        date_day,
        extract(year from date_day)::integer as year,
        extract(month from date_day)::integer as month,
        date_trunc('month', date_day)::date as month_start,
        extract(isodow from date_day)::integer as iso_weekday,
        trim(to_char(date_day, 'Day')) as weekday_name,
        extract(isodow from date_day) in (6, 7) as is_weekend
    from days
)

select
    final.*,
    {{ batch_timestamp() }} as dbt_batch_at  -- the run that wrote the row (test scope)
from final
