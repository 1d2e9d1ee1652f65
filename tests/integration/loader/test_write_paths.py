"""The writer's two paths: straight COPY (new keys) and the staging upsert it falls back to when a
ticket key already exists, or (a hand-written row) when request_logs' direct COPY conflicts."""

from __future__ import annotations

import copy
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import generated_documents, insert_documents
from tickettrak.loader.loader import run_load

pytestmark = pytest.mark.integration


def _tickets(dsn: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT observed_date, offer_id, raw_seq, raw_id FROM aviasales.tickets ORDER BY 1, 2"
        ).fetchall()


def _same_offers_as(doc: dict[str, Any], seq: int) -> dict[str, Any]:
    from bson import ObjectId

    twin = copy.deepcopy(doc)
    twin.update(_id=ObjectId(), seq=seq, request_id=f"req-{seq}")
    return twin


def test_an_offer_seen_again_in_a_later_batch_is_updated_by_the_later_sighting(
    raw_store: Any, postgres_dsn: str
) -> None:
    first = next(iter(generated_documents(1, 5)))
    insert_documents(raw_store.collection, [first, _same_offers_as(first, 2)])
    summary = run_load(postgres_dsn, raw_store.database, batch_size=1)  # one document per batch
    assert (summary.tickets_inserted, summary.tickets_updated, summary.request_logs) == (5, 5, 2)
    rows = _tickets(postgres_dsn)
    assert len(rows) == 5 and {r[2] for r in rows} == {2}
    with psycopg.connect(postgres_dsn) as conn:  # an update dbt's incremental runs see (loaded_at)
        assert conn.execute("SELECT count(*) FROM aviasales.full_rebuild_requests").fetchone() == (0,)


def test_an_older_sighting_loaded_late_does_not_overwrite(raw_store: Any, postgres_dsn: str) -> None:
    newer = next(iter(generated_documents(1, 5, first_seq=2)))
    insert_documents(raw_store.collection, [newer])
    run_load(postgres_dsn, raw_store.database)
    insert_documents(raw_store.collection, [_same_offers_as(newer, 1)])  # seq 1 appears late
    summary = run_load(postgres_dsn, raw_store.database)
    assert (summary.documents_read, summary.tickets_inserted, summary.tickets_updated) == (1, 0, 0)
    rows = _tickets(postgres_dsn)
    assert len(rows) == 5 and {r[2] for r in rows} == {2}
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM aviasales.request_logs").fetchone() == (2,)


def test_a_hand_written_request_log_row_does_not_fail_the_load(raw_store: Any, postgres_dsn: str) -> None:
    docs = list(generated_documents(3, 2))
    insert_documents(raw_store.collection, docs)
    run_load(postgres_dsn, raw_store.database, batch_size=1, overlap=0)  # creates the schema
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("TRUNCATE aviasales.tickets, aviasales.request_logs, aviasales.load_state")
        conn.execute(
            "INSERT INTO aviasales.request_logs (raw_id, raw_seq, success, raw) VALUES (%s, 2, true, '{}')",
            (str(docs[1]["_id"]),),
        )
    summary = run_load(postgres_dsn, raw_store.database, overlap=0)
    assert (summary.request_logs, summary.tickets_inserted, summary.watermark_after) == (2, 6, 3)
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM aviasales.request_logs").fetchone() == (3,)
        kept = conn.execute("SELECT raw FROM aviasales.request_logs WHERE raw_seq = 2").fetchone()
    assert kept == ({},)  # first write wins, as with the upsert
