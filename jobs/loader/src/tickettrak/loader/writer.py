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
  runs at a time under the advisory lock; below it, loader._drop_loaded asked the table);
- tickets: the batch is deduplicated in Python (highest raw_seq, then cheaper price, then
  item_path) and COPYed straight in inside a savepoint. If a key already exists (the same offer
  seen earlier that day, in an earlier batch), the COPY fails on the primary key, is rolled back
  to the savepoint, and the batch's tickets go through a staging table and
  `INSERT … ON CONFLICT DO UPDATE … WHERE excluded.raw_seq > raw_seq` (the old path).
  (Probing the keys first cost as much as the upsert it avoided: one index probe per row.)
If request_logs' COPY meets a unique violation (it cannot under the lock; a defence against
someone writing the table by hand), the transaction is rolled back and the batch is written
again through the staging tables with `ON CONFLICT` everywhere: same result, slower.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import Copy
from psycopg.types.json import Jsonb

from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS, ParsedDocument, clean_text, to_json

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
# The staged rows are unique per key (deduplicated in Python, see _dedupe): one statement may
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
    """The staging tables' column types, for binary COPY (psycopg dumps each value in C)."""

    request_logs: list[str]
    tickets: list[str]
    load_errors: list[str]


def prepare(conn: psycopg.Connection) -> Staging:
    """Create this session's staging tables (temp: invisible to others, gone with the session)."""
    with conn.transaction():
        conn.execute(_STAGING)
    return Staging(
        _types(conn, "stage_request_logs", REQUEST_LOG_COLUMNS),
        _types(conn, "stage_tickets", TICKET_COLUMNS),
        _types(conn, "stage_load_errors", ERROR_COLUMNS),
    )


def _types(conn: psycopg.Connection, table: str, columns: Sequence[str]) -> list[str]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
        " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        (table,),
    ).fetchall()
    by_name: dict[str, str] = dict(rows)
    return [by_name[c] for c in columns]


def _raw_json(text: str) -> str:
    return text


def _jsonb(text: str | None) -> Jsonb | None:
    # Our JSON is already serialised (to_json): hand it to the jsonb dumper unchanged.
    return None if text is None else Jsonb(text, dumps=_raw_json)


_LOG_JSONB = [i for i, c in enumerate(REQUEST_LOG_COLUMNS) if c in ("query", "raw")]


def _request_log_row(row: tuple[Any, ...]) -> list[Any]:
    values = list(row)
    for index in _LOG_JSONB:
        values[index] = _jsonb(values[index])
    return values


_KEY = (TICKET_COLUMNS.index("observed_date"), TICKET_COLUMNS.index("offer_id"))
_RANK = (TICKET_COLUMNS.index("raw_seq"), TICKET_COLUMNS.index("price"), TICKET_COLUMNS.index("item_path"))


def _dedupe(docs: Sequence[ParsedDocument]) -> dict[tuple[Any, Any], tuple[Any, ...]]:
    """One row per ticket key: the highest raw_seq, then (one body listing an offer twice) the
    cheaper price, then the smaller item_path. Always done here, never by SQL ordering, so a clean
    run and a rerun after a crash (other batch boundaries) choose the same row."""
    day, offer = _KEY
    seq, price, path = _RANK
    best: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    for doc in docs:
        for row in doc.tickets:
            key = (row[day], row[offer])
            held = best.get(key)
            if held is None or (-row[seq], row[price], row[path]) < (-held[seq], held[price], held[path]):
                best[key] = row
    return best


def write_batch(
    conn: psycopg.Connection, staging: Staging, docs: Sequence[ParsedDocument], source: str, max_seq: int
) -> BatchResult:
    try:
        return _write(conn, staging, docs, source, max_seq, direct=True)
    except psycopg.errors.UniqueViolation:  # rolled back: nothing of the batch is left
        return _write(conn, staging, docs, source, max_seq, direct=False)


def _write(
    conn: psycopg.Connection,
    staging: Staging,
    docs: Sequence[ParsedDocument],
    source: str,
    max_seq: int,
    *,
    direct: bool,
) -> BatchResult:
    result = BatchResult()
    tickets = _dedupe(docs)
    with conn.transaction(), conn.cursor() as cur:
        log_table = "aviasales.request_logs" if direct else "stage_request_logs"
        with _copy(cur, log_table, REQUEST_LOG_COLUMNS, staging.request_logs) as copy:
            for doc in docs:
                copy.write_row(_request_log_row(doc.request_log))
        if direct:
            result.request_logs = len(docs)
        else:
            cur.execute(_INSERT_REQUEST_LOGS)
            result.request_logs = cur.rowcount
        if tickets:
            inserted, updated = _write_tickets(conn, cur, staging, tickets, direct)
            result.tickets_inserted, result.tickets_updated = inserted, updated
        if any(doc.errors for doc in docs):
            result.errors = _write_errors(cur, staging, docs)
        cur.execute(_ADVANCE_WATERMARK, (source, max_seq))
    return result


def _write_tickets(
    conn: psycopg.Connection,
    cur: psycopg.Cursor[Any],
    staging: Staging,
    tickets: dict[tuple[Any, Any], tuple[Any, ...]],
    direct: bool,
) -> tuple[int, int]:
    """(inserted, updated). Straight COPY when none of the keys exists yet (the common case: a
    new observation day); if one does, the COPY stops at the unique violation, is rolled back to
    its savepoint, and the batch's tickets go through the staging upsert instead."""
    if direct:
        try:
            with conn.transaction(), _copy(cur, "aviasales.tickets", TICKET_COLUMNS, staging.tickets) as copy:
                for row in tickets.values():
                    copy.write_row(row)
            return len(tickets), 0
        except psycopg.errors.UniqueViolation:
            pass  # rolled back to the savepoint: nothing of it is left
    with _copy(cur, "stage_tickets", TICKET_COLUMNS, staging.tickets) as copy:
        for row in tickets.values():
            copy.write_row(row)
    inserted, updated = cur.execute(_UPSERT_TICKETS).fetchone() or (0, 0)
    return int(inserted), int(updated)


def _write_errors(cur: psycopg.Cursor[Any], staging: Staging, docs: Sequence[ParsedDocument]) -> int:
    with _copy(cur, "stage_load_errors", ERROR_COLUMNS, staging.load_errors) as copy:
        for doc in docs:
            for e in doc.errors:
                fragment = _jsonb(to_json(e.fragment)) if e.fragment is not None else None
                text = clean_text(e.fragment_text) if e.fragment_text is not None else None
                copy.write_row(
                    (e.raw_id, e.raw_seq, e.item_path, e.reason, clean_text(e.detail), fragment, text)
                )
    cur.execute(_INSERT_ERRORS)
    return cur.rowcount


@contextmanager
def _copy(cur: psycopg.Cursor[Any], table: str, columns: Sequence[str], types: list[str]) -> Iterator[Copy]:
    with cur.copy(f"COPY {table} ({_cols(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        yield copy


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
