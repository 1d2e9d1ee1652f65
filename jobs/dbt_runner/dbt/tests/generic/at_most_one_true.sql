{#- Fails for every partition where `flag` is true on more than one row (e.g. two "best" buckets). -#}
{% test at_most_one_true(model, flag, partition_by) %}
select {{ partition_by }}, count(*) as flagged
from {{ model }}
where {{ flag }}
group by {{ partition_by }}
having count(*) > 1
{% endtest %}
