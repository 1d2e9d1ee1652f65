{#- Incremental models rebuild whole partitions (observation days, departure months): the ones
    whose upstream rows were loaded after this model's newest `loaded_at`. The partition list is
    read at compile time and rendered as literals, so PostgreSQL pushes the filter down into the
    views below (a `where x in (subquery)` would not be pushed through their GROUP BY).

    changed_partitions(upstream, "observed_date") -> the SQL list of values, or none when nothing
    changed; `partition_filter(column, values)` renders the WHERE condition. -#}
{% macro changed_partitions(upstream, partition_expression, loaded_at_column="loaded_at") -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select distinct ({{ partition_expression }})::text as value
        from {{ upstream }}
        where {{ loaded_at_column }} > (
            select coalesce(max({{ loaded_at_column }}), '-infinity'::timestamptz) from {{ this }}
        )
        order by 1
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{% macro partition_filter(column, values, cast="date") -%}
    {%- if values is none -%}
        true
    {%- elif values | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in (
            {%- for value in values %}'{{ value }}'::{{ cast }}{{ "," if not loop.last }}{% endfor -%}
        )
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of int_daily_prices_relativized: a re-collected day may drop a departure date's
    only observations; delete+insert replaces the departure dates the run wrote rows for and so
    never sees it. Delete the rows of this table that no longer have their mart_price_dynamics row,
    on every day mart_price_dynamics changed since this table last saw it: the days are chosen by
    loaded_at (newer than this table's newest row not written by this run), not by "rewritten in
    this dbt invocation", so a run that stopped between the two models is caught up by the next. -#}
{% macro delete_vanished_departures() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as t
        where t.dbt_batch_at <> {{ batch_timestamp() }}
            and t.observed_date in (
                select distinct observed_date from {{ ref("mart_price_dynamics") }}
                where loaded_at > (
                    select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ this }}
                    where dbt_batch_at <> {{ batch_timestamp() }}
                )
            )
            and not exists (
                select 1 from {{ ref("mart_price_dynamics") }} as d
                where d.route_id = t.route_id
                    and d.trip_type = t.trip_type
                    and d.departure_date = t.departure_date
                    and d.observed_date = t.observed_date
            )
    {%- endif -%}
{%- endmacro %}
