{#- Tests on the big tables check what the current run wrote, not the whole history again: a
    test's `where` may say
      __latest_batch__  -> rows written by the latest run (`dbt_batch_at`, set by every dwh model)
      __new_days__      -> rows of the observation days that received loads since the fact was
                           last built (everything on the first build or with --full-refresh),
                           on `observed_date`, or `logical_date` for request logs. The days are
                           rendered as literals so the filter reaches the loader's indexes and
                           goes below the views' DISTINCT ON.
    (dbt_project.yml sets them per folder). A full refresh rewrites every row in one batch, so
    `tickettrak transform --full-refresh` tests everything. This replaces dbt's own
    get_where_subquery, which wraps a test's model in `(select * ... where <where>)`. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get("where") -%}
    {%- if not where -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- if "__latest_batch__" in where -%}
        {%- set where = where | replace("__latest_batch__", latest_batch_condition(relation)) -%}
    {%- endif -%}
    {%- if "__new_days__" in where -%}
        {%- set where = where | replace("__new_days__", new_days_condition(relation)) -%}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}

{% macro new_days_condition(relation) -%}
    {%- set fact = adapter.get_relation(
        database=target.database, schema="dwh", identifier="fct_price_observations"
    ) -%}
    {%- if flags.FULL_REFRESH or fact is none -%}
        {{ return("true") }}
    {%- endif -%}
    {#- Request logs (the source and its staging view) are dated by logical_date, the rest by
        observed_date: told by the name, not by asking the catalog (a query per test). -#}
    {%- set identifier = relation.identifier if relation.identifier is defined else none -%}
    {%- if identifier is none -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute="name") | list -%}
        {%- set day_column = "observed_date" if "observed_date" in columns else "logical_date" -%}
    {%- else -%}
        {%- set day_column = "logical_date" if "request_logs" in identifier else "observed_date" -%}
    {%- endif -%}
    {#- The days come from the request logs (one row per exchange: ~30x smaller than tickets, and a
        ticket's observed_date is its request's logical date); every test asks, so it must be cheap. -#}
    {%- set request_logs = adapter.get_relation(
        database=target.database, schema="aviasales", identifier="request_logs"
    ) -%}
    {%- set query -%}
        select distinct coalesce(logical_date, (requested_at at time zone 'UTC')::date)::text
        from {{ request_logs }}
        where loaded_at > (select coalesce(max(loaded_at), '-infinity'::timestamptz) from {{ fact }})
    {%- endset -%}
    {%- set days = run_query(query).columns[0].values() | list -%}
    {{ return(partition_filter(day_column, days)) }}
{%- endmacro %}

{#- The latest batch as a literal, read when the test is compiled (just before it runs, after its
    model). Not `dbt_batch_at = (select max(...))`: after a full refresh the statistics say one
    value covers every row, so with a subquery PostgreSQL plans a full scan of the table for every
    test (1-3 s each at 5M rows); with the literal it sees a new value and uses the index. -#}
{% macro latest_batch_condition(relation) -%}
    {%- if not execute -%}
        {{ return("true") }}
    {%- endif -%}
    {%- set query -%}
        select max(dbt_batch_at)::text from {{ relation }}
    {%- endset -%}
    {%- set latest = run_query(query).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ return("false") }}
    {%- endif -%}
    {{ return("dbt_batch_at = '" ~ latest ~ "'::timestamptz") }}
{%- endmacro %}

{#- The current run's timestamp, stored as `dbt_batch_at` by the dwh models. -#}
{% macro batch_timestamp() -%}
    '{{ run_started_at.isoformat() }}'::timestamptz
{%- endmacro %}
