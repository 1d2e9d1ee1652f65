with

source as (
    select * from {{ source("aviasales", "tickets") }}
),

renamed as (
    select
        observed_date,
        offer_id,
        trip_type,
        endpoint,
        shape as response_shape,
        raw_id,
        raw_seq,
        upper(origin) as origin,
        upper(destination) as destination,
        upper(origin_airport) as origin_airport,
        upper(destination_airport) as destination_airport,
        upper(airline) as airline,
        flight_number,
        departure_at,
        return_at,
        departure_date,
        return_date,
        price,
        lower(currency) as currency,
        transfers,
        return_transfers,
        duration as duration_minutes,
        duration_to as duration_to_minutes,
        duration_back as duration_back_minutes,
        trip_class,
        deep_link,
        search_date as sighted_date,
        found_at,
        loaded_at
    from source
)

select * from renamed
