{#- Fails with every row where `expression` is not true (no dbt packages: no internet to fetch
    dbt_utils, and this is the one generic test we need from it). Usage in a yml:
      data_tests: [{expression_is_true: {expression: "price > 0"}}]  -- model level
    or under a column, where `column_name` may appear in the expression. -#}
{% test expression_is_true(model, expression, column_name=none, where_condition=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{%- if where_condition is not none %}
    and ({{ where_condition }})
{%- endif %}
{% endtest %}
