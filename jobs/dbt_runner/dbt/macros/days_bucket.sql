{#- The days-before-departure buckets of best_time_to_buy: one list, used by every model. -#}
{% macro days_buckets() -%}
    {{ return([
        {"label": "0-6", "order": 1, "min": 0, "max": 6},
        {"label": "7-13", "order": 2, "min": 7, "max": 13},
        {"label": "14-29", "order": 3, "min": 14, "max": 29},
        {"label": "30-59", "order": 4, "min": 30, "max": 59},
        {"label": "60-89", "order": 5, "min": 60, "max": 89},
        {"label": "90+", "order": 6, "min": 90, "max": none},
    ]) }}
{%- endmacro %}

{#- The bucket attribute (`label`, `order`, `min`, `max`) of an integer days expression. -#}
{% macro days_bucket(days_expression, attribute="label") -%}
    case
    {%- for bucket in days_buckets() %}
        when {{ days_expression }} >= {{ bucket["min"] }}
            {%- if bucket["max"] is not none %} and {{ days_expression }} <= {{ bucket["max"] }}{% endif %}
            then {% if attribute == "label" %}'{{ bucket[attribute] }}'{% elif bucket[attribute] is none %}null::integer{% else %}{{ bucket[attribute] }}{% endif %}
    {%- endfor %}
    end
{%- endmacro %}

{#- The buckets as rows: (days_bucket, bucket_order, bucket_min_days, bucket_max_days). -#}
{% macro days_buckets_values() -%}
    (values
    {%- for bucket in days_buckets() %}
        ('{{ bucket["label"] }}', {{ bucket["order"] }}, {{ bucket["min"] }}, {{ "null::integer" if bucket["max"] is none else bucket["max"] }}){{ "," if not loop.last }}
    {%- endfor %}
    ) as buckets (days_bucket, bucket_order, bucket_min_days, bucket_max_days)
{%- endmacro %}
