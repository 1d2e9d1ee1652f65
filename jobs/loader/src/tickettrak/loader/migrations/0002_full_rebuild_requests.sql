-- 0002: requests for a full dbt rebuild, written by PostgreSQL itself when aviasales.tickets
-- changes in a way dbt's incremental models may not see. They find their work by `loaded_at`,
-- which only rows that are still there carry, and which only the loader sets reliably. Logged:
--   * a TRUNCATE (as `tickettrak load --full-refresh` does) or a DELETE (also a cascade from
--     request_logs), whoever runs it: the removed rows leave nothing to find;
--   * an INSERT or UPDATE by anyone but the loader (a fix by hand, a restore): it may move a row
--     to another month or key, or keep an old loaded_at, which incremental runs would miss.
-- The loader marks its own session (`SET tickettrak.loading = 'on'`, loader.py): it only inserts
-- new rows and updates re-sighted ones under the same key with loaded_at = now(), all visible to
-- incremental runs, so its loads log nothing. `tickettrak transform` runs a --full-refresh build
-- while a request has no rebuilt_at, then stamps it (jobs/dbt_runner: rebuild_requests.py).

CREATE TABLE aviasales.full_rebuild_requests (
    id              bigserial   PRIMARY KEY,
    table_name      text        NOT NULL,
    operation       text        NOT NULL,             -- TRUNCATE / DELETE / INSERT / UPDATE
    rows_affected   bigint,                           -- null when PostgreSQL does not count them
    requested_at    timestamptz NOT NULL DEFAULT now(),
    rebuilt_at      timestamptz                       -- set by the full dbt build that covered it
);

CREATE FUNCTION aviasales.request_full_rebuild() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    affected bigint;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') AND current_setting('tickettrak.loading', true) = 'on' THEN
        RETURN NULL;  -- the loader's own writes: incremental runs see them by loaded_at
    END IF;
    IF TG_OP = 'DELETE' THEN
        SELECT count(*) INTO affected FROM old_rows;
    END IF;
    -- Statement triggers also fire when nothing matched: a DELETE of no row asks nothing (an
    -- INSERT or UPDATE by hand is not counted: it asks, once, whatever it matched).
    IF affected IS NULL OR affected > 0 THEN
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
-- INSERT and UPDATE without transition tables: the loader's COPY and upserts pay one function
-- call per statement, nothing per row.
CREATE TRIGGER tickets_inserted AFTER INSERT ON aviasales.tickets
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.request_full_rebuild();
CREATE TRIGGER tickets_updated AFTER UPDATE ON aviasales.tickets
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.request_full_rebuild();
