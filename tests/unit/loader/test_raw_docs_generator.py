"""The bench-sized RAW generator and bulk writer of tests/fixtures/raw_docs.py change speed, not data.

- `generated_documents` yields, for a seed, the very documents of its first, straightforward version
  (kept below verbatim): compared as BSON bytes, which also checks key order and value types.
- `bulk_insert_montydb` leaves the collection's SQLite file exactly as montydb's `insert_many`
  does (schema, journal mode, every row's key and value bytes, in the same order), and the
  loader's reader (RawStore.read_batches) gives back the same documents from both.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import pytest

from tests.fixtures.raw_docs import (
    _GST,
    _MSK,
    AIRLINES,
    ROUTES,
    bulk_insert_montydb,
    generated_documents,
    insert_documents,
    raw_document,
)
from tickettrak.common.raw_store import RawStore


def _straightforward_generated_documents(
    count: int, offers_per_doc: int = 20, *, first_seq: int = 1, seed: int = 7
) -> Iterable[dict[str, Any]]:
    """The generator as first written (commit 8f35abb), kept verbatim as the reference."""
    import random

    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(count):
        seq = first_seq + n
        origin, destination = ROUTES[n % len(ROUTES)]
        day = base + timedelta(days=(n // len(ROUTES)) % 180)
        back = day + timedelta(days=5)
        logical = (datetime(2025, 12, 1) + timedelta(days=n % 30)).date().isoformat()
        offers = []
        for i in range(offers_per_doc):
            airline = AIRLINES[(n + i) % len(AIRLINES)]
            dep = day.replace(hour=5 + i % 12, minute=(i * 5) % 60)
            ret = back.replace(hour=4 + i % 15, minute=(i * 7) % 60)
            dep_local, ret_local = dep.astimezone(_MSK).isoformat(), ret.astimezone(_GST).isoformat()
            price = 14000 + rng.randrange(20000)
            token = f"{airline}{int(dep.timestamp())}{int(ret.timestamp())}{i:04d}_{n:08x}_{price}"
            offers.append(
                {
                    "flight_number": f"{rng.randrange(1, 999):03d}"
                    if i % 7 == 0
                    else str(rng.randrange(10, 9999)),
                    "link": f"/search/{origin}{day:%d%m}{destination}{back:%d%m}1?t={token}"
                    f"&search_date={(day - timedelta(days=20)):%d%m%Y}&expected_price={price}",
                    "origin_airport": "SVO" if origin == "MOW" else origin,
                    "destination_airport": destination,
                    "departure_at": dep_local,
                    "airline": airline,
                    "destination": destination,
                    "return_at": ret_local,
                    "origin": origin,
                    "price": price,
                    "return_transfers": i % 2,
                    "duration": 600 + i,
                    "duration_to": 300 + i,
                    "duration_back": 300,
                    "transfers": i % 3,
                }
            )
        query = {
            "origin": origin,
            "destination": destination,
            "departure_at": f"{day:%Y-%m-%d}",
            "return_at": f"{back:%Y-%m-%d}",
            "one_way": "false",
            "currency": "rub",
            "market": "ru",
            "limit": str(offers_per_doc),
            "page": "1",
        }
        body = {"data": offers, "currency": "rub", "success": True}
        yield raw_document(body, query=query, seq=seq, logical_date=logical, run_id=f"run-{logical}")


def _same_ids(reference: list[dict[str, Any]], docs: list[dict[str, Any]]) -> None:
    for ref, doc in zip(reference, docs, strict=True):
        ref["_id"] = doc["_id"]  # ObjectIds are the one random part


@pytest.mark.parametrize(
    ("count", "offers", "kwargs"),
    [
        (1_200, 20, {}),  # the bench's shape; past 6 routes x 180 days, where the days wrap
        (40, 31, {"first_seq": 1_000_000, "seed": 8}),  # > 24 offers: hours and minutes wrap
        (3, 1, {"seed": 0}),
    ],
)
def test_the_generator_yields_the_documents_of_its_straightforward_version(
    count: int, offers: int, kwargs: dict[str, Any]
) -> None:
    reference = list(_straightforward_generated_documents(count, offers, **kwargs))
    docs = list(generated_documents(count, offers, **kwargs))
    _same_ids(reference, docs)

    assert [bson.encode(d) for d in docs] == [bson.encode(r) for r in reference]


def test_generated_documents_share_no_mutable_part() -> None:
    first, second = _two_alike()
    first["request"]["query"]["page"] = "2"
    first["request"]["headers"]["x"] = "y"
    first["response"]["headers"]["x"] = "y"

    assert second["request"]["query"]["page"] == "1"
    assert "x" not in second["request"]["headers"] and "x" not in second["response"]["headers"]


def _two_alike() -> tuple[dict[str, Any], dict[str, Any]]:
    """Two documents with the same route and day (the parts cached between documents)."""
    docs = list(generated_documents(len(ROUTES) * 180 + 1, 2))
    assert docs[0]["request"]["query"] == docs[-1]["request"]["query"]
    return docs[0], docs[-1]


def _collection(repository: Path) -> Any:
    from montydb import MontyClient, set_storage

    set_storage(str(repository), storage="sqlite", use_bson=True)  # as the bench and the proxy do
    return MontyClient(str(repository), tz_aware=True)["tickettrak"]["raw_exchanges"]


def _sqlite_file(repository: Path) -> tuple[list[Any], list[Any], list[Any]]:
    """Schema and journal mode, then every row (rowid, key, value) in rowid order."""
    conn = sqlite3.connect(repository / "tickettrak" / "raw_exchanges.collection")
    try:
        schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchall()
        rows = conn.execute("SELECT rowid, k, v FROM documents ORDER BY rowid").fetchall()
        return [*schema, *mode], rows, [type(k) for _, k, _ in rows[:1]]
    finally:
        conn.close()


def _read_back(collection: Any) -> list[list[dict[str, Any]]]:
    return list(RawStore(collection.database).read_batches(0, batch_size=7))


def test_a_bulk_written_collection_is_the_file_insert_many_writes(tmp_path: Path) -> None:
    docs = list(generated_documents(40, 3))
    docs.append(raw_document({"data": []}, seq=41, requested_at=datetime(2026, 2, 1, tzinfo=UTC)))
    docs.append(raw_document(None, seq=42, status=None, transport_error="timeout"))
    through_api, bulk = _collection(tmp_path / "api"), _collection(tmp_path / "bulk")

    insert_documents(through_api, copy.deepcopy(docs), chunk=9)
    written = bulk_insert_montydb(bulk, copy.deepcopy(docs), chunk=9)  # chunks end mid-set

    assert written == len(docs)
    api_file, bulk_file = _sqlite_file(tmp_path / "api"), _sqlite_file(tmp_path / "bulk")
    assert bulk_file[1], "nothing was written"
    assert bulk_file == api_file
    api_read, bulk_read = _read_back(through_api), _read_back(bulk)
    assert [len(b) for b in bulk_read] == [7] * 6
    assert bulk_read == api_read
    assert [d["seq"] for b in bulk_read for d in b] == list(range(1, 43))


def test_bulk_writing_appends_to_a_collection_montydb_already_holds(tmp_path: Path) -> None:
    docs = list(generated_documents(12, 2))
    through_api, mixed = _collection(tmp_path / "api"), _collection(tmp_path / "mixed")
    insert_documents(through_api, copy.deepcopy(docs))
    insert_documents(mixed, copy.deepcopy(docs[:5]))

    bulk_insert_montydb(mixed, copy.deepcopy(docs[5:]), chunk=4)

    assert _sqlite_file(tmp_path / "mixed") == _sqlite_file(tmp_path / "api")
    assert _read_back(mixed) == _read_back(through_api)
    assert mixed.count_documents({}) == 12  # montydb's own query path sees them too


def test_bulk_writing_refuses_a_collection_that_is_not_montydb_sqlite() -> None:
    class NotMontydb:
        _storage = object()

    with pytest.raises(TypeError, match="montydb SQLite"):
        bulk_insert_montydb(NotMontydb(), iter([]))
