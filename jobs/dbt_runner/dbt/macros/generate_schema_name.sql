{#- Schemas are part of the contract: models configured with `schema: ods` land in `ods`, not in
    `<target schema>_ods` (dbt's default). Models without a schema use the target's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
