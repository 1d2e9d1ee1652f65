"""Watermark, reruns, late documents, --full-refresh, the loader lock and the migrations."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import generated_documents, insert_documents
from tickettrak.loader.loader import LOADER_LOCK, LoaderBusy, run_load
from tickettrak.loader.schema import available, migrate

pytestmark = pytest.mark.integration


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM aviasales.{table}").fetchone()
        assert row is not None
        return int(row[0])


def test_incremental_rerun_and_full_refresh(raw_store: Any, postgres_dsn: str) -> None:
    insert_documents(raw_store.collection, generated_documents(30, 4))
    first = run_load(postgres_dsn, raw_store.database, batch_size=7)
    assert (first.documents_read, first.tickets_inserted, first.watermark_after) == (30, 120, 30)

    again = run_load(postgres_dsn, raw_store.database, batch_size=7)
    # nothing new: the overlap re-check sees every document already loaded and writes nothing
    assert (again.documents_read, again.request_logs, again.tickets_inserted, again.tickets_updated) == (
        0,
        0,
        0,
        0,
    )
    assert again.documents_already_loaded == 30

    insert_documents(raw_store.collection, generated_documents(10, 4, first_seq=31, seed=8))
    more = run_load(postgres_dsn, raw_store.database, batch_size=7)
    assert (more.documents_read, more.request_logs, more.watermark_after) == (10, 10, 40)
    assert _count(postgres_dsn, "request_logs") == 40

    # Loads only insert and upsert: no full dbt rebuild requested (else every transform would
    # rebuild in full).
    assert _rebuild_requests(postgres_dsn) == []
    with psycopg.connect(postgres_dsn) as conn:
        before = conn.execute("SELECT count(*), sum(price) FROM aviasales.tickets").fetchone()
    refreshed = run_load(postgres_dsn, raw_store.database, full_refresh=True, batch_size=7)
    assert refreshed.watermark_before == 0 and refreshed.documents_read == 40
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT count(*), sum(price) FROM aviasales.tickets").fetchone() == before
    assert _rebuild_requests(postgres_dsn) == [("tickets", "TRUNCATE", None)]  # the next transform rebuilds

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM aviasales.tickets WHERE false")  # matched nothing: not logged
        conn.execute("DELETE FROM aviasales.request_logs WHERE raw_seq <= 2")  # cascades to 8 tickets
    assert _rebuild_requests(postgres_dsn)[1:] == [("tickets", "DELETE", 8)]


def _rebuild_requests(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT table_name, operation, rows_affected FROM aviasales.full_rebuild_requests ORDER BY id"
        ).fetchall()


def test_late_committed_document_below_the_watermark_is_loaded(raw_store: Any, postgres_dsn: str) -> None:
    docs = list(generated_documents(20, 2))
    late = docs.pop(12)  # seq 13 commits after seq 14..20 were already loaded
    insert_documents(raw_store.collection, docs)
    assert run_load(postgres_dsn, raw_store.database).watermark_after == 20
    insert_documents(raw_store.collection, [late])
    summary = run_load(postgres_dsn, raw_store.database)
    assert (summary.documents_read, summary.request_logs) == (1, 1)
    assert _count(postgres_dsn, "request_logs") == 20


def test_second_loader_exits_clearly_while_one_runs(raw_store: Any, postgres_dsn: str) -> None:
    insert_documents(raw_store.collection, generated_documents(5, 2))
    run_load(postgres_dsn, raw_store.database)  # creates the schema
    with psycopg.connect(postgres_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOADER_LOCK,))
        with pytest.raises(LoaderBusy, match="another `tickettrak load` is running"):
            run_load(postgres_dsn, raw_store.database, lock_grace_s=0.2)
        waited: list[Any] = []
        waiter = threading.Thread(
            target=lambda: waited.append(run_load(postgres_dsn, raw_store.database, wait_for_lock=True))
        )
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive(), "--wait-for-lock should block while the lock is held"
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOADER_LOCK,))
        waiter.join(timeout=60)
    assert waited and waited[0].documents_already_loaded == 5


def test_migrations_twice_and_concurrently(postgres_dsn: str) -> None:
    results: list[list[int]] = []

    def run() -> None:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            results.append(migrate(conn))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    versions = [m.version for m in available()]
    assert sorted(results, key=len) == [[], [], versions]  # exactly one runner applied them
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        assert migrate(conn) == []
        recorded = conn.execute("SELECT version FROM aviasales.schema_migrations ORDER BY version").fetchall()
        assert [v for (v,) in recorded] == versions


def test_migration_files_are_numbered_without_gaps() -> None:
    versions = [m.version for m in available()]
    assert versions == list(range(1, len(versions) + 1))
    assert (Path(__file__).parents[3] / "jobs/loader/src/tickettrak/loader/migrations/0001_init.sql").exists()
