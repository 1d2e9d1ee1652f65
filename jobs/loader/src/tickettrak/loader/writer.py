"""One batch into PostgreSQL in one transaction: COPY into temp tables, upsert, move the watermark.

Because the rows and the watermark commit together, a crash anywhere leaves either the whole batch
and its watermark, or neither. Every upsert is idempotent, so re-reading documents (a rerun, the
overlap window) changes nothing:
- request_logs: keyed by raw_id, first write wins (a RAW document never changes);
- tickets: keyed by (observed_date, offer_id); the sighting from the highest raw_seq wins, so the
  result does not depend on the order documents were loaded in;
- load_errors: keyed by (raw_id, item_path, reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from tickettrak.loader.copy_text import encode_rows
from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS, ParsedDocument, to_json

ERROR_COLUMNS = ("raw_id", "raw_seq", "item_path", "reason", "detail", "fragment", "fragment_text")


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
# DISTINCT ON: one statement may not touch a row twice; inside a batch the latest document wins,
# then (same document listing one offer twice) the cheaper price, then the first position.
_UPSERT_TICKETS = f"""
WITH upserted AS (
    INSERT INTO aviasales.tickets ({_cols(TICKET_COLUMNS)})
    SELECT DISTINCT ON (observed_date, offer_id) {_cols(TICKET_COLUMNS)} FROM stage_tickets
    ORDER BY observed_date, offer_id, raw_seq DESC, price, item_path
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


def prepare(conn: psycopg.Connection) -> None:
    """Create this session's staging tables (temp: invisible to others, gone with the session)."""
    with conn.transaction():
        conn.execute(_STAGING)


def write_batch(
    conn: psycopg.Connection, docs: Sequence[ParsedDocument], source: str, max_seq: int
) -> BatchResult:
    result = BatchResult()
    error_rows = (
        (e.raw_id, e.raw_seq, e.item_path, e.reason, e.detail, _json_or_none(e.fragment), e.fragment_text)
        for doc in docs
        for e in doc.errors
    )
    with conn.transaction(), conn.cursor() as cur:
        _copy(cur, "stage_request_logs", REQUEST_LOG_COLUMNS, encode_rows(d.request_log for d in docs))
        _copy(cur, "stage_tickets", TICKET_COLUMNS, encode_rows(t for d in docs for t in d.tickets))
        _copy(cur, "stage_load_errors", ERROR_COLUMNS, encode_rows(error_rows))
        cur.execute(_INSERT_REQUEST_LOGS)
        result.request_logs = cur.rowcount
        inserted, updated = cur.execute(_UPSERT_TICKETS).fetchone() or (0, 0)
        result.tickets_inserted, result.tickets_updated = int(inserted), int(updated)
        cur.execute(_INSERT_ERRORS)
        result.errors = cur.rowcount
        cur.execute(_ADVANCE_WATERMARK, (source, max_seq))
    return result


def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], payload: bytes) -> None:
    if payload:
        with cur.copy(f"COPY {table} ({_cols(columns)}) FROM STDIN") as copy:
            copy.write(payload)


def _json_or_none(value: Any) -> str | None:
    return None if value is None else to_json(value)


def loaded_ids(conn: psycopg.Connection, raw_ids: Sequence[str]) -> set[str]:
    """Which of these documents are already in request_logs (for the overlap re-read)."""
    rows = conn.execute("SELECT raw_id FROM aviasales.request_logs WHERE raw_id = ANY(%s)", (list(raw_ids),))
    return {r[0] for r in rows.fetchall()}


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
