{#- analyze_after_rebuild() (post-hook of the dwh models, dbt_project.yml): a full refresh (or a
    table model) writes the whole table at once; statistics right away keep the plans of the
    scoped data tests and of the next incremental run right (autovacuum may come minutes later).
    Incremental runs add a small share of rows and leave it to autovacuum.
    (A larger work_mem for the marts' exact medians was tried: no faster at 1M rows, and
    PostgreSQL's peak memory went from ~210 MB to ~470 MB; not kept.) -#}
{% macro analyze_after_rebuild() -%}
    {%- if model.config.materialized != "view" and not is_incremental() -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
