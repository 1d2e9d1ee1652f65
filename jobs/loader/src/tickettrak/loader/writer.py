"""One batch into PostgreSQL in one transaction: rows, quarantine and the watermark together.

Because the rows and the watermark commit together, a crash anywhere leaves either the whole batch
and its watermark, or neither. Re-reading documents (a rerun, the overlap window) changes nothing:
- request_logs: keyed by raw_id; a RAW document never changes, first write wins;
- tickets: keyed by (observed_date, offer_id); the sighting from the highest raw_seq wins, so the
  result does not depend on the order documents were loaded in;
- load_errors: keyed by (raw_id, item_path, reason).

The fast path writes the targets with COPY directly, no staging table, no upsert:
- request_logs: the loader only hands over documents that are not loaded yet (seq above the
  run's starting watermark cannot be loaded: rows and watermark commit together and one loader
  runs at a time under the advisory lock; below it, the table was asked once, before the first
  batch: `loaded_ids_after`);
- tickets: the batch is deduplicated in Python (encode.dedupe: highest raw_seq, then cheaper
  price, then item_path) and COPYed straight in inside a savepoint. If a key already exists (the same offer
  seen earlier that day, in an earlier batch), the COPY fails on the primary key, is rolled back
  to the savepoint, and the batch's tickets go through a staging table and
  `INSERT … ON CONFLICT DO UPDATE … WHERE excluded.raw_seq > raw_seq` (the old path).
  (Probing the keys first cost as much as the upsert it avoided: one index probe per row.)
If request_logs' COPY meets a unique violation (it cannot under the lock; a defence against
someone writing the table by hand), the transaction is rolled back and the batch is written
again through the staging tables with `ON CONFLICT` everywhere: same result, slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from tickettrak.loader.encode import ERROR_COLUMNS, EncodedBatch
from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_request_logs (LIKE aviasales.request_logs INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_tickets (LIKE aviasales.tickets INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_load_errors (
    raw_id text, raw_seq bigint, item_path text, reason text, detail text, fragment jsonb, fragment_text text
) ON COMMIT DELETE ROWS;
"""

_INSERT_REQUEST_LOGS = f"""
INSERT INTO aviasales.request_logs ({_cols(REQUEST_LOG_COLUMNS)})
SELECT {_cols(REQUEST_LOG_COLUMNS)} FROM stage_request_logs
ON CONFLICT (raw_id) DO NOTHING
"""  # noqa: S608 (only our own column names are interpolated)

_TICKET_UPDATES = ", ".join(
    f'"{c}" = excluded."{c}"' for c in TICKET_COLUMNS if c not in ("observed_date", "offer_id")
)
# The staged rows are unique per key (deduplicated in Python, see encode.dedupe): one statement may
# not touch a row twice.
_UPSERT_TICKETS = f"""
WITH upserted AS (
    INSERT INTO aviasales.tickets ({_cols(TICKET_COLUMNS)})
    SELECT {_cols(TICKET_COLUMNS)} FROM stage_tickets
    ON CONFLICT (observed_date, offer_id) DO UPDATE SET {_TICKET_UPDATES}, loaded_at = now()
        WHERE excluded.raw_seq > aviasales.tickets.raw_seq
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""  # noqa: S608 (only our own column names are interpolated)

_INSERT_ERRORS = f"""
INSERT INTO aviasales.load_errors ({_cols(ERROR_COLUMNS)})
SELECT {_cols(ERROR_COLUMNS)} FROM stage_load_errors
ON CONFLICT (raw_id, item_path, reason) DO NOTHING
"""  # noqa: S608 (only our own column names are interpolated)

_ADVANCE_WATERMARK = """
INSERT INTO aviasales.load_state (source, watermark_seq) VALUES (%s, %s)
ON CONFLICT (source) DO UPDATE
    SET watermark_seq = GREATEST(aviasales.load_state.watermark_seq, excluded.watermark_seq),
        updated_at = now()
"""


@dataclass
class BatchResult:
    request_logs: int = 0
    tickets_inserted: int = 0
    tickets_updated: int = 0
    errors: int = 0


@dataclass(frozen=True)
class Staging:
    """The staging tables' column types (the targets' too): what encode.py formats the COPY rows as."""

    request_logs: list[str]
    tickets: list[str]


def prepare(conn: psycopg.Connection) -> Staging:
    """Create this session's staging tables (temp: invisible to others, gone with the session)."""
    with conn.transaction():
        conn.execute(_STAGING)
    return Staging(
        _types(conn, "stage_request_logs", REQUEST_LOG_COLUMNS),
        _types(conn, "stage_tickets", TICKET_COLUMNS),
    )


def _types(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> list[str]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (table,),
    ).fetchall()
    by_name: dict[str, str] = dict(rows)
    return [by_name[c] for c in columns]


def write_batch(conn: psycopg.Connection, batch: EncodedBatch, source: str) -> BatchResult:
    try:
        return _write(conn, batch, source, direct=True)
    except psycopg.errors.UniqueViolation:  # rolled back: nothing of the batch is left
        return _write(conn, batch, source, direct=False)


def _write(conn: psycopg.Connection, batch: EncodedBatch, source: str, *, direct: bool) -> BatchResult:
    result = BatchResult()
    with conn.transaction(), conn.cursor() as cur:
        log_table = "aviasales.request_logs" if direct else "stage_request_logs"
        _copy(cur, log_table, REQUEST_LOG_COLUMNS, batch.request_logs_copy)
        if direct:
            result.request_logs = batch.documents
        else:
            cur.execute(_INSERT_REQUEST_LOGS)
            result.request_logs = cur.rowcount
        if batch.tickets:
            inserted, updated = _write_tickets(conn, cur, batch, direct)
            result.tickets_inserted, result.tickets_updated = inserted, updated
        if batch.errors:
            result.errors = _write_errors(cur, batch.errors)
        cur.execute(_ADVANCE_WATERMARK, (source, batch.max_seq))
    return result


def _write_tickets(
    conn: psycopg.Connection, cur: psycopg.Cursor[Any], batch: EncodedBatch, direct: bool
) -> tuple[int, int]:
    """(inserted, updated). Straight COPY when none of the keys exists yet (the common case: a
    new observation day); if one does, the COPY stops at the unique violation, is rolled back to
    its savepoint, and the batch's tickets go through the staging upsert instead."""
    if direct:
        try:
            with conn.transaction():
                _copy(cur, "aviasales.tickets", TICKET_COLUMNS, batch.tickets_copy)
            return batch.tickets, 0
        except psycopg.errors.UniqueViolation:
            pass  # rolled back to the savepoint: nothing of it is left
    _copy(cur, "stage_tickets", TICKET_COLUMNS, batch.tickets_copy)
    inserted, updated = cur.execute(_UPSERT_TICKETS).fetchone() or (0, 0)
    return int(inserted), int(updated)


def _write_errors(cur: psycopg.Cursor[Any], rows: Sequence[tuple[Any, ...]]) -> int:
    fragment_at = ERROR_COLUMNS.index("fragment")
    with cur.copy(f"COPY stage_load_errors ({_cols(ERROR_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            fragment = row[fragment_at]
            values = list(row)
            values[fragment_at] = None if fragment is None else Jsonb(fragment, dumps=_as_is)
            copy.write_row(values)
    cur.execute(_INSERT_ERRORS)
    return cur.rowcount


def _as_is(text: str) -> str:
    return text  # already JSON (encode.error_row)


def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], payload: bytes) -> None:
    """One binary COPY payload (encode.py made it, signature to trailer) into the table."""
    with cur.copy(f"COPY {table} ({_cols(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)


def loaded_ids_after(conn: psycopg.Connection, seq: int) -> frozenset[str]:
    """The documents with raw_seq > seq already in request_logs (the overlap window re-read)."""
    rows = conn.execute("SELECT raw_id FROM aviasales.request_logs WHERE raw_seq > %s", (seq,))
    return frozenset(r[0] for r in rows.fetchall())


def watermark(conn: psycopg.Connection, source: str) -> int:
    row = conn.execute(
        "SELECT watermark_seq FROM aviasales.load_state WHERE source = %s", (source,)
    ).fetchone()
    return int(row[0]) if row else 0


def truncate_all(conn: psycopg.Connection, source: str) -> None:
    """--full-refresh: empty the targets and forget the watermark, atomically."""
    with conn.transaction():
        conn.execute("TRUNCATE aviasales.tickets, aviasales.load_errors, aviasales.request_logs")
        conn.execute("DELETE FROM aviasales.load_state WHERE source = %s", (source,))
