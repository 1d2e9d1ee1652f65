{#- Fails once per listed column that has nulls (one row: the column and how many rows). One scan
    for all the columns of a model that are not part of its key: the keys keep dbt's own
    `not_null` (and `unique`); this replaces one `not_null` node per column, each a query and a
    dbt node of its own (the fixed cost of every incremental run). Usage, at model level:
      data_tests: [{not_null_columns: {arguments: {columns: [price, currency]}}}] -#}
{% test not_null_columns(model, columns) %}
with

null_counts as (
    select
    {%- for column in columns %}
        count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote("nulls_" ~ column) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)

select null_column, null_rows
from null_counts
cross join lateral (
    values
    {%- for column in columns %}
        ('{{ column }}', {{ adapter.quote("nulls_" ~ column) }}){{ "," if not loop.last }}
    {%- endfor %}
) as per_column (null_column, null_rows)
where null_rows > 0
{% endtest %}
