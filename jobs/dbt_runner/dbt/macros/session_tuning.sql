{#- Hooks of the dwh models (dbt_project.yml).

    sort_memory(): the marts' exact medians and the fact's de-duplication sort hundreds of
    thousands of rows; with PostgreSQL's default work_mem (4 MB) every such sort spills to disk.
    `set local` lasts for the model's transaction only. var('transform_work_mem') sets it.

    analyze_after_rebuild(): a full refresh (or a table model) writes the whole table at once;
    statistics right away keep the plans of the scoped data tests and of the next incremental
    run right (autovacuum may come minutes later). Incremental runs add a small share of rows
    and leave it to autovacuum. -#}
{% macro sort_memory() -%}
    set local work_mem = '{{ var("transform_work_mem") }}'
{%- endmacro %}

{% macro analyze_after_rebuild() -%}
    {%- if model.config.materialized != "view" and not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
