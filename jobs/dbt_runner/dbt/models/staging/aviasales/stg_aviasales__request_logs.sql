with

source as (
    select * from {{ source("aviasales", "request_logs") }}
),

renamed as (
    select
        raw_id,
        raw_seq,
        request_id,
        request_key,
        endpoint,
        origin as requested_origin,
        destination as requested_destination,
        departure_at as requested_departure_at,
        return_at as requested_return_at,
        one_way as requested_one_way,
        direct as requested_direct,
        lower(currency) as requested_currency,
        market as requested_market,
        "limit" as requested_limit,
        page as requested_page,
        http_status,
        body_format,
        success as is_success,
        error as error_message,
        offers_count,
        requested_at,
        received_at,
        duration_ms,
        run_id,
        logical_date,
        loaded_at
    from source
)

select * from renamed
