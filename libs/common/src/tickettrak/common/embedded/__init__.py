"""The laptop path's embedded services: PostgreSQL (pgserver) and the RAW document store (montydb)."""
