"""Reading RAW documents after a seq, one bounded batch at a time.

- MongoDB / FerretDB (pymongo): one cursor sorted by seq (the unique index) with a server-side
  batch size, so the client holds one batch whatever the size of RAW.
- montydb (the laptop's embedded store): montydb answers every query by loading and decoding the
  whole collection (`SELECT v FROM documents` + fetchall), which makes batched queries quadratic
  and memory grow with RAW. So the loader streams the collection's SQLite file itself, read-only,
  decoding rows with montydb's own codec, and filters seq there. Rows come in insertion order,
  which is seq order except for writes that raced; every batch is sorted, and the run's overlap
  re-check (loader.DEFAULT_OVERLAP) covers the rest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RAW_COLLECTION = "raw_exchanges"


def read_batches(collection: Any, after_seq: int, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of whole RAW documents with seq > after_seq, each sorted by seq."""
    path = _montydb_sqlite_file(collection)
    docs = (
        _stream_montydb(collection, path, after_seq)
        if path
        else _stream_mongo(collection, after_seq, batch_size)
    )
    batch: list[dict[str, Any]] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= batch_size:
            yield sorted(batch, key=_seq)
            batch = []
    if batch:
        yield sorted(batch, key=_seq)


def _seq(doc: dict[str, Any]) -> int:
    return int(doc["seq"])


def _stream_mongo(collection: Any, after_seq: int, batch_size: int) -> Iterator[dict[str, Any]]:
    with collection.find({"seq": {"$gt": after_seq}}).sort("seq", 1).batch_size(batch_size) as cursor:
        yield from cursor


def _montydb_sqlite_file(collection: Any) -> Path | None:
    storage: Any = getattr(collection, "_storage", None)
    if type(storage).__name__ != "SQLiteStorage" or not type(storage).__module__.startswith("montydb"):
        return None
    path = Path(storage._repository) / collection.database.name / f"{collection.name}.collection"
    return path if path.exists() else None


def _stream_montydb(collection: Any, path: Path, after_seq: int) -> Iterator[dict[str, Any]]:
    from montydb.types import bson as monty_bson

    options = collection.database.codec_options
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        cursor = conn.execute("SELECT v FROM documents ORDER BY rowid")
        while rows := cursor.fetchmany(256):
            for (value,) in rows:
                doc: dict[str, Any] = monty_bson.document_decode(value, codec_options=options)
                seq = doc.get("seq")
                if isinstance(seq, int) and seq > after_seq:
                    yield doc
    finally:
        conn.close()


def count_after(collection: Any, after_seq: int) -> int | None:
    """How many documents are waiting (for the progress bar); None if the store cannot say cheaply."""
    if _montydb_sqlite_file(collection) is not None:
        return None  # montydb would decode the whole collection just to count it
    try:
        return int(collection.count_documents({"seq": {"$gt": after_seq}}))
    except Exception:  # a progress total is a nicety, never a reason to fail the load
        return None
