-- 0002: a log of rows REMOVED from aviasales.tickets (a DELETE, a cascade from request_logs, or a
-- TRUNCATE such as `tickettrak load --full-refresh`). Why: dbt's incremental models find new work
-- by loaded_at, which only rows that are still there carry; a removed row leaves nothing for them
-- to see. `tickettrak transform` reads this log and rebuilds in full while an entry has no
-- rebuilt_at (jobs/dbt_runner: removed_rows.py). The loader itself only inserts and upserts, so
-- a normal load writes nothing here.

CREATE TABLE aviasales.removed_rows_log (
    id              bigserial   PRIMARY KEY,
    table_name      text        NOT NULL,
    operation       text        NOT NULL,             -- DELETE or TRUNCATE
    rows_removed    bigint,                           -- null for TRUNCATE (PostgreSQL does not count)
    at              timestamptz NOT NULL DEFAULT now(),
    rebuilt_at      timestamptz                       -- set by the full dbt build that covered it
);

CREATE FUNCTION aviasales.log_removed_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO aviasales.removed_rows_log (table_name, operation) VALUES (TG_TABLE_NAME, TG_OP);
    ELSE
        -- A statement trigger fires even when the DELETE matched nothing: log only real removals.
        INSERT INTO aviasales.removed_rows_log (table_name, operation, rows_removed)
        SELECT TG_TABLE_NAME, TG_OP, count(*) FROM removed HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_log_delete AFTER DELETE ON aviasales.tickets
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.log_removed_rows();
CREATE TRIGGER tickets_log_truncate AFTER TRUNCATE ON aviasales.tickets
    FOR EACH STATEMENT EXECUTE FUNCTION aviasales.log_removed_rows();
