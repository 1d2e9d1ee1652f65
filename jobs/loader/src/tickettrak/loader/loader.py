"""The load: migrate, take the loader lock, then RAW batches after the watermark into PostgreSQL."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tickettrak.common.raw_store import RAW_COLLECTION, RawStore
from tickettrak.loader import writer
from tickettrak.loader.encode import BatchEncoder, EncodedBatch
from tickettrak.loader.pipeline import encoded_batches
from tickettrak.loader.schema import migrate

LOADER_LOCK = 0x7474_6C6F_6164  # "ttload": one loader at a time per database
DEFAULT_BATCH_SIZE = 500
# The proxy allocates seq before its insert commits, so a document can become visible after a
# higher seq was already loaded. Each run re-checks this many seqs below the watermark and loads
# whatever is missing there (request_logs is keyed by raw_id, so the re-check is harmless).
DEFAULT_OVERLAP = 1000
LOCK_GRACE_S = 5.0  # how long a loader waits for a just-killed one's lock to be released


class LoaderBusy(RuntimeError):
    """Another loader holds the lock on this database."""


@dataclass
class LoadSummary:
    watermark_before: int = 0
    watermark_after: int = 0
    documents_read: int = 0
    documents_already_loaded: int = 0
    request_logs: int = 0
    tickets_inserted: int = 0
    tickets_updated: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    duration_s: float = 0.0

    @property
    def tickets_per_s(self) -> float:
        return (self.tickets_inserted + self.tickets_updated) / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "watermark_before": self.watermark_before,
            "watermark_after": self.watermark_after,
            "documents_read": self.documents_read,
            "documents_already_loaded": self.documents_already_loaded,
            "request_logs_rows": self.request_logs,
            "tickets_inserted": self.tickets_inserted,
            "tickets_updated": self.tickets_updated,
            "quarantined": dict(sorted(self.quarantined.items())),
            "batches": self.batches,
            "duration_s": round(self.duration_s, 3),
        }


# progress(total_documents_or_None) once, then progress(None, documents, tickets) per batch
ProgressStart = Callable[[int | None], None]
ProgressAdvance = Callable[[int, int], None]


def run_load(
    dsn: str,
    raw_database: Any,
    *,
    full_refresh: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    overlap: int = DEFAULT_OVERLAP,
    wait_for_lock: bool = False,
    lock_grace_s: float = LOCK_GRACE_S,
    on_start: ProgressStart | None = None,
    on_batch: ProgressAdvance | None = None,
) -> LoadSummary:
    started = time.monotonic()
    summary = LoadSummary()
    store = RawStore(raw_database)  # a reader: no writer lock; the caller owns the client
    # UTF-8 whatever PGCLIENTENCODING says: the worker formats text as UTF-8 (encode.py).
    with psycopg.connect(
        dsn, autocommit=True, application_name="tickettrak-loader", client_encoding="utf8"
    ) as conn:
        migrate(conn)
        # Marks this session's inserts and upserts as the loader's (migration 0002): dbt's
        # incremental runs see them by loaded_at, so they request no full rebuild.
        conn.execute("SET tickettrak.loading = 'on'")
        _lock(conn, None if wait_for_lock else lock_grace_s)
        try:
            _load(conn, store, summary, full_refresh, batch_size, overlap, on_start, on_batch)
        finally:
            # Release now: a closed connection's backend lets go only when it exits, a moment later.
            if not conn.closed and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                conn.execute("SELECT pg_advisory_unlock(%s)", (LOADER_LOCK,))
    summary.duration_s = time.monotonic() - started
    return summary


def _load(
    conn: psycopg.Connection,
    store: RawStore,
    summary: LoadSummary,
    full_refresh: bool,
    batch_size: int,
    overlap: int,
    on_start: ProgressStart | None,
    on_batch: ProgressAdvance | None,
) -> None:
    staging = writer.prepare(conn)
    if full_refresh:
        writer.truncate_all(conn, RAW_COLLECTION)
    summary.watermark_before = summary.watermark_after = writer.watermark(conn, RAW_COLLECTION)
    start = max(0, summary.watermark_before - overlap)
    if on_start is not None:
        on_start(store.count_after(summary.watermark_before))
    # Only the overlap window below the watermark can hold loaded documents: asked once, here.
    loaded = writer.loaded_ids_after(conn, start) if start < summary.watermark_before else frozenset()
    encoder = BatchEncoder(staging.request_logs, staging.tickets, store.codec_options, loaded)
    with contextlib.closing(encoded_batches(store, start, batch_size, encoder)) as batches:
        for batch in batches:
            _write(conn, batch, summary, on_batch)


def _write(
    conn: psycopg.Connection, batch: EncodedBatch, summary: LoadSummary, on_batch: ProgressAdvance | None
) -> None:
    """One batch into PostgreSQL (one transaction), counted in the summary."""
    result = writer.write_batch(conn, batch, RAW_COLLECTION)
    summary.batches += 1
    summary.documents_read += batch.documents
    summary.documents_already_loaded += batch.already_loaded
    summary.quarantined.update(batch.quarantined)
    summary.request_logs += result.request_logs
    summary.tickets_inserted += result.tickets_inserted
    summary.tickets_updated += result.tickets_updated
    summary.watermark_after = max(summary.watermark_after, batch.max_seq)
    if on_batch is not None:
        on_batch(batch.documents, batch.tickets)


def _lock(conn: psycopg.Connection, timeout_s: float | None) -> None:
    # Session-level lock: held across this connection's transactions, released by PostgreSQL
    # itself if the process dies, so a SIGKILLed loader never blocks the next one. A dead
    # loader's backend may need a moment to notice, hence a short grace wait even without --wait.
    timeout_ms = 0 if timeout_s is None else max(1, int(timeout_s * 1000))  # 0 = no limit
    conn.execute(f"SET lock_timeout = {timeout_ms}")
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOADER_LOCK,))
    except psycopg.errors.LockNotAvailable:
        raise LoaderBusy(
            "another `tickettrak load` is running on this database (advisory lock held); "
            "nothing was changed — rerun when it finishes, or pass --wait-for-lock"
        ) from None
    finally:
        conn.execute("SET lock_timeout = 0")
