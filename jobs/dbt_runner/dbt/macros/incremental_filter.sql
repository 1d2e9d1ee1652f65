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
