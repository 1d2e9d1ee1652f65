"""The RAW store code path on both stores: dense seq in write order, concurrent writers, reading."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.ferretdb import unique_database_name
from tests.integration.proxy.conftest import StoreTarget
from tickettrak.common.embedded.mongo import open_raw_database
from tickettrak.common.raw_store import RawStore, RawStoreUnavailable, body_json, stored_body
from tickettrak.common.settings import load_settings

pytestmark = [pytest.mark.integration]


def _document(n: int, body: bytes = b'{"success": true, "data": []}', **fields: Any) -> dict[str, Any]:
    stored = stored_body(body)
    return {
        "request_id": f"r{n}",
        "logical_date": "2026-11-20",
        "request_key": f"key-{n}",
        "response": {
            "status": 200,
            "body_format": stored.body_format,
            "body": stored.body,
            "body_text": stored.body_text,
        },
        **fields,
    }


@pytest.fixture
def stores(raw_target: StoreTarget) -> Iterator[list[RawStore]]:
    """Two handles on the same RAW database (two proxy replicas, or a proxy and the loader)."""
    settings = load_settings(**raw_target.overrides)
    opened = [RawStore(open_raw_database(settings)), RawStore(open_raw_database(settings))]
    yield opened
    for store in opened:
        store.close()


def test_seq_is_dense_in_write_order_and_readable_in_batches(stores: list[RawStore]) -> None:
    writer, reader = stores
    assert writer.insert_exchanges([_document(1)]) == [1]
    assert writer.insert_exchanges([_document(n) for n in range(2, 7)]) == [2, 3, 4, 5, 6]
    batches = list(reader.read_batches(2, batch_size=2))
    assert [[d["seq"] for d in batch] for batch in batches] == [[3, 4], [5, 6]]
    assert [d["request_id"] for batch in batches for d in batch] == ["r3", "r4", "r5", "r6"]
    assert reader.max_seq() == 6 and reader.count() == 6


def test_bodies_bson_cannot_hold_round_trip_as_json_text(stores: list[RawStore]) -> None:
    writer, reader = stores
    bodies = [b'{"data": {"a.b": 1, "$c": [NaN]}, "success": true}', b'{"n": 123456789012345678901234567890}']
    writer.insert_exchanges([_document(n, body) for n, body in enumerate(bodies)])
    documents = [d for batch in reader.read_batches(0) for d in batch]
    assert [d["response"]["body_format"] for d in documents] == ["json_text", "json_text"]
    assert body_json(documents[1]) == {"n": 123456789012345678901234567890}
    # A json_text success still counts as completed for the resume point.
    assert reader.completed_request_keys("2026-11-20") == ["key-0"]


@pytest.fixture
def wire_stores(mongo_uri: str) -> Iterator[list[RawStore]]:
    """Two proxy replicas on one MongoDB-protocol database (the embedded store has one writer)."""
    settings = load_settings(mongo_uri=mongo_uri, mongo_database=unique_database_name("seq"))
    opened = [RawStore(open_raw_database(settings)), RawStore(open_raw_database(settings))]
    yield opened
    opened[0].collection.database.client.drop_database(settings.mongo_database)
    for store in opened:
        store.close()


@pytest.mark.ferretdb
def test_concurrent_writers_never_share_or_skip_a_seq(wire_stores: list[RawStore]) -> None:
    stores = wire_stores
    first = stores[0]
    claimed: list[int] = []
    lock = threading.Lock()

    def write(store: RawStore, offset: int) -> None:
        for n in range(15):
            seqs = store.insert_exchanges([_document(offset + n * 2 + k) for k in range(2)])
            with lock:
                claimed.extend(seqs)

    threads = [threading.Thread(target=write, args=(s, i * 1000)) for i, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == list(range(1, 61))
    stored = [d["seq"] for batch in first.read_batches(0) for d in batch]
    assert stored == list(range(1, 61))


def test_the_embedded_store_has_one_writer(tt_env: Path) -> None:
    settings = load_settings(home=tt_env)
    first = RawStore.open(settings, writer=True)
    try:
        with pytest.raises(RawStoreUnavailable, match="another process already writes"):
            RawStore.open(settings, writer=True)
        RawStore.open(settings).close()  # readers are welcome
    finally:
        first.close()
    RawStore.open(settings, writer=True).close()  # released
