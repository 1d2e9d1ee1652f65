-- 0002: requests for a full dbt rebuild, written by PostgreSQL itself when aviasales.tickets
-- changes in a way dbt's incremental models cannot see. They find their work by `loaded_at`,
-- which only rows still there carry, and only when a change sets it. So these are logged:
--   * a TRUNCATE (as `tickettrak load --full-refresh` does) or a DELETE (also a cascade from
--     request_logs): the removed rows leave nothing to find;
--   * an UPDATE of a row that leaves loaded_at as it was (a fix by hand), moves the row to
--     another key, or sets its price to 0 (the sightings drop it: it vanishes downstream).
-- `tickettrak transform` runs a --full-refresh build while a request has no rebuilt_at and then
-- stamps it (jobs/dbt_runner: rebuild_requests.py). The loader only inserts, and updates
-- re-sighted rows with a new loaded_at under the same key and price: its loads log nothing.

CREATE TABLE aviasales.full_rebuild_requests (
    id              bigserial   PRIMARY KEY,
    table_name      text        NOT NULL,
    operation       text        NOT NULL,             -- TRUNCATE / DELETE / UPDATE
    rows_affected   bigint,                           -- null for TRUNCATE (PostgreSQL does not count)
    requested_at    timestamptz NOT NULL DEFAULT now(),
    rebuilt_at      timestamptz                       -- set by the full dbt build that covered it
);

CREATE FUNCTION aviasales.request_full_rebuild() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    affected bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO aviasales.full_rebuild_requests (table_name, operation) VALUES (TG_TABLE_NAME, TG_OP);
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO affected FROM old_rows;
    ELSE
        SELECT count(*) INTO affected FROM new_rows n
        WHERE n.loaded_at IS DISTINCT FROM now()  -- the loader's updates set it to now()
           OR n.price <= 0
           OR NOT EXISTS (SELECT 1 FROM old_rows o
                          WHERE o.observed_date = n.observed_date AND o.offer_id = n.offer_id);
    END IF;
    -- Statement triggers also fire when nothing matched: only real changes are requests.
    IF affected > 0 THEN
        INSERT INTO aviasales.full_rebuild_requests (table_name, operation, rows_affected)
        VALUES (TG_TABLE_NAME, TG_OP, affected);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_truncated AFTER TRUNCATE ON aviasales.tickets
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.request_full_rebuild();
CREATE TRIGGER tickets_deleted AFTER DELETE ON aviasales.tickets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.request_full_rebuild();
CREATE TRIGGER tickets_updated AFTER UPDATE ON aviasales.tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.request_full_rebuild();
