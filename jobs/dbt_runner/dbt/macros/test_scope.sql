{#- Tests on the big tables check what the current run wrote, not the whole history again: a
    test's `where` may say
      __latest_batch__  -> rows written by the latest run (`dbt_batch_at`, set by every dwh model)
      __new_loads__     -> source rows loaded since the fact was last built (everything on the
                           first build or with --full-refresh)
    (dbt_project.yml sets them per folder). A full refresh rewrites every row in one batch, so
    `tickettrak transform --full-refresh` tests everything. This replaces dbt's own
    get_where_subquery, which wraps a test's model in `(select * ... where <where>)`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get("where") -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if "__latest_batch__" in where -%}
        {%- set where = where | replace(
            "__latest_batch__",
            "dbt_batch_at = (select max(dbt_batch_at) from " ~ relation ~ ")"
        ) -%}
    {%- endif -%}
    {%- if "__new_loads__" in where -%}
        {%- set where = where | replace("__new_loads__", new_loads_condition()) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{% macro new_loads_condition() -%}
    {%- set fact = adapter.get_relation(
        database=target.database, schema="dwh", identifier="fct_price_observations"
    ) -%}
    {%- if flags.FULL_REFRESH or fact is none -%}
        true
    {%- else -%}
        loaded_at > (select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ fact }})
    {%- endif -%}
{%- endmacro %}

{#- The current run's timestamp, stored as `dbt_batch_at` by the dwh models. -#}
{% macro batch_timestamp() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}
