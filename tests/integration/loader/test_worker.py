"""The load worker (pipeline.py): the encode-in-a-process path gives the same rows as the in-process
path, its death or a broken RAW document stops the load with a clear error and a consistent
database, and a killed loader leaves no worker behind (that last one is in test_crash_recovery)."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.raw_docs import generated_documents, insert_documents, recorded_documents
from tests.integration.loader.test_crash_recovery import fingerprint, worker_pids
from tickettrak.loader.loader import run_load
from tickettrak.loader.pipeline import PipelineFailed, RawReadFailed, WorkerFailed

pytestmark = pytest.mark.integration

DOCUMENTS = 300


def test_worker_path_and_in_process_path_load_the_same_rows(
    raw_store: Any, new_postgres_database: Callable[[], str]
) -> None:
    insert_documents(raw_store.collection, list(generated_documents(DOCUMENTS, 4)))
    one_batch, many_batches = new_postgres_database(), new_postgres_database()
    seen_workers: list[int] = []

    def spy(documents: int, tickets: int) -> None:
        seen_workers.extend(worker_pids(os.getpid()))

    run_load(one_batch, raw_store.database, batch_size=DOCUMENTS)  # fits one batch: no worker
    run_load(many_batches, raw_store.database, batch_size=16, on_batch=spy)
    assert seen_workers, "the multi-batch load did not go through a worker process"
    assert fingerprint(one_batch) == fingerprint(many_batches)
    assert fingerprint(one_batch)["tickets"][0] == DOCUMENTS * 4
    assert worker_pids(os.getpid()) == []  # the worker is gone once the load returns

    # A rerun with nothing new re-reads only the overlap window (two batches): no worker for that.
    seen_workers.clear()
    again = run_load(many_batches, raw_store.database, batch_size=16, overlap=32, on_batch=spy)
    assert (again.documents_already_loaded, again.documents_read, seen_workers) == (32, 0, [])


def test_a_killed_worker_fails_the_load_and_the_rerun_completes_it(
    raw_store: Any, new_postgres_database: Callable[[], str]
) -> None:
    insert_documents(raw_store.collection, list(generated_documents(DOCUMENTS, 4)))
    clean, crashed = new_postgres_database(), new_postgres_database()
    run_load(clean, raw_store.database, batch_size=16)
    killed = threading.Event()

    def kill_worker(documents: int, tickets: int) -> None:
        if not killed.is_set():
            for pid in worker_pids(os.getpid()):
                os.kill(pid, signal.SIGKILL)  # as the OOM killer would
                killed.set()

    with pytest.raises(WorkerFailed, match="exited unexpectedly"):
        run_load(crashed, raw_store.database, batch_size=16, on_batch=kill_worker)
    assert killed.is_set()
    assert 0 < fingerprint(crashed)["watermark"][0] < fingerprint(clean)["watermark"][0]
    run_load(crashed, raw_store.database, batch_size=16)
    assert fingerprint(crashed) == fingerprint(clean)


@pytest.fixture
def embedded_raw(tt_env: Path) -> Iterator[tuple[Any, Path]]:
    """The embedded store and its SQLite file (these tests edit the stored bytes themselves)."""
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings

    database = open_raw_database(load_settings())
    yield database, tt_env / "raw" / database.name / "raw_exchanges.collection"
    database.client.close()


@pytest.mark.parametrize(
    ("field", "where"),
    [
        # the top-level length of `response`: the parent's reader (it reads the top level for seq)
        (b"\x03response\x00", "read"),
        # a string inside the body, which only the worker's full decode reads
        (b"\x02origin_airport\x00", "worker"),
    ],
)
def test_an_undecodable_raw_document_stops_the_load_with_the_reason(
    embedded_raw: tuple[Any, Path], new_postgres_database: Callable[[], str], field: bytes, where: str
) -> None:
    database, path = embedded_raw
    insert_documents(database["raw_exchanges"], list(generated_documents(DOCUMENTS, 2)))
    with sqlite3.connect(path) as db:
        query = "SELECT rowid, v FROM documents ORDER BY rowid LIMIT 1 OFFSET 200"
        rowid, value = db.execute(query).fetchone()
        data = bytearray(value)
        at = data.index(field) + len(field)
        data[at : at + 4] = (len(data) * 2).to_bytes(4, "little")  # a length past the document's end
        db.execute("UPDATE documents SET v = ? WHERE rowid = ?", (bytes(data), rowid))
    dsn = new_postgres_database()
    with pytest.raises(PipelineFailed, match="InvalidBSON") as failure:
        run_load(dsn, database, batch_size=16)
    if where == "read":
        assert isinstance(failure.value, RawReadFailed), failure.value
    else:
        assert isinstance(failure.value, WorkerFailed), failure.value
        assert str(failure.value).startswith("encoding the RAW batch seq"), failure.value
    assert 0 < fingerprint(dsn)["watermark"][0] <= 200  # all before it loaded, nothing from it on


def test_payloads_load_exactly_what_psycopg_write_row_loads(postgres_dsn: str, fixtures_dir: Path) -> None:
    """encode.py formats COPY rows with psycopg's private BinaryFormatter, without a connection:
    the rows it loads must equal what psycopg's public `Copy.write_row` loads, for every
    recorded API body and a generated set (this fails first if a psycopg release changes it)."""
    import psycopg

    from tickettrak.loader import writer
    from tickettrak.loader.encode import _payload, _request_log_row, dedupe, parse_safely
    from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS
    from tickettrak.loader.schema import migrate

    docs = [doc for _, doc in recorded_documents(fixtures_dir)]
    docs += list(generated_documents(50, 3, first_seq=len(docs) + 1))
    parsed = [parse_safely(doc) for doc in docs]
    logs = [_request_log_row(doc.request_log) for doc in parsed]
    tickets = list(dedupe(parsed).values())
    assert len(tickets) > 150 and len(logs) == len(docs)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        migrate(conn)
        staging = writer.prepare(conn)
        for table, columns, types, rows in (
            ("request_logs", REQUEST_LOG_COLUMNS, staging.request_logs, logs),
            ("tickets", TICKET_COLUMNS, staging.tickets, tickets),
        ):
            names = ", ".join(f'"{c}"' for c in columns)
            for target in ("via_payload", "via_write_row"):
                conn.execute(f"CREATE TEMP TABLE {target} (LIKE aviasales.{table} INCLUDING DEFAULTS)")
            with conn.cursor() as cur:
                with cur.copy(f"COPY via_payload ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.write(_payload(types, rows))
                with cur.copy(f"COPY via_write_row ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
                counts = cur.execute(
                    "SELECT (SELECT count(*) FROM via_payload), (SELECT count(*) FROM via_write_row)"
                )
                assert counts.fetchone() == (len(rows), len(rows)), table
                for a, b in (("via_payload", "via_write_row"), ("via_write_row", "via_payload")):
                    cols = names.replace('"loaded_at", ', "")
                    differ = cur.execute(
                        f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b}) d"
                    )
                    assert differ.fetchone() == (0,), table
            conn.execute("DROP TABLE via_payload, via_write_row")
