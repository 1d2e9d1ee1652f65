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
from tickettrak.common.raw_store import MixedUpstreams, RawStore, RawStoreUnavailable, body_json, stored_body
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
    """Three proxy replicas and a loader on one MongoDB-protocol database."""
    settings = load_settings(mongo_uri=mongo_uri, mongo_database=unique_database_name("seq"))
    opened = [RawStore(open_raw_database(settings)) for _ in range(4)]
    yield opened
    opened[0].collection.database.client.drop_database(settings.mongo_database)
    for store in opened:
        store.close()


@pytest.mark.ferretdb
def test_concurrent_writers_keep_seq_dense_and_a_watermark_reader_misses_nothing(
    wire_stores: list[RawStore],
) -> None:
    *writers, loader = wire_stores
    claimed: list[int] = []
    seen: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def write(store: RawStore, offset: int) -> None:
        for n in range(20):
            seqs = store.insert_exchanges([_document(offset + n * 3 + k) for k in range(3)])
            with lock:
                claimed.extend(seqs)

    def read_like_the_loader() -> None:
        watermark = 0
        while True:
            finished = done.is_set()
            for batch in loader.read_batches(watermark, batch_size=7):
                seen.extend(d["seq"] for d in batch)
                watermark = batch[-1]["seq"]
            if finished:
                return

    reader = threading.Thread(target=read_like_the_loader)
    reader.start()
    threads = [threading.Thread(target=write, args=(s, i * 1000)) for i, s in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    reader.join(60)
    assert sorted(claimed) == list(range(1, 181))
    # The watermark reader saw every document exactly once, in order: nothing appeared behind it.
    assert seen == list(range(1, 181))


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


@pytest.mark.ferretdb
def test_a_writer_behind_another_steps_past_taken_numbers_without_a_gap(wire_stores: list[RawStore]) -> None:
    first, second, reader, _ = wire_stores
    assert second.insert_exchanges([_document(1)]) == [1]  # second now believes 2 is next
    assert first.insert_exchanges([_document(n) for n in (2, 3, 4)]) == [2, 3, 4]
    assert second.insert_exchanges([_document(5), _document(6)]) == [5, 6]  # 2, 3, 4 were taken
    stored = [(d["seq"], d["request_id"]) for batch in reader.read_batches(0) for d in batch]
    assert stored == [(n, f"r{n}") for n in range(1, 7)]


def _writer(raw_target: StoreTarget, kind: str) -> RawStore:
    return RawStore(open_raw_database(load_settings(**raw_target.overrides)), upstream_kind=kind)


def test_a_store_holds_one_upstream_sandbox_or_real(raw_target: StoreTarget) -> None:
    """Simulated prices never sit next to real ones: they would load into the same tickets and
    marts, and a day done against one upstream would count as done for the other."""
    sandbox = _writer(raw_target, "sandbox")
    sandbox.ensure_indexes()  # an empty store: claimed for the sandbox
    sandbox.insert_exchanges([_document(1)])
    again = _writer(raw_target, "sandbox")
    again.ensure_indexes()
    real = _writer(raw_target, "real")
    with pytest.raises(MixedUpstreams, match=r"holds exchanges with the sandbox .*real Aviasales API"):
        real.ensure_indexes()
    with pytest.raises(MixedUpstreams):  # and no write gets past it
        real.insert_exchanges([_document(2)])
    assert again.count() == 1
    for store in (sandbox, again, real):
        store.close()


REAL_URL = "https://api.travelpayouts.com/aviasales/v3/prices_for_dates?origin=MOW"


@pytest.mark.parametrize(
    ("url", "headers", "kind"),
    [
        (REAL_URL, {}, "real"),
        (REAL_URL, {"X-Sandbox-As-Of": "2026-11-20"}, "sandbox"),  # only the sandbox gets it
        ("http://127.0.0.1:8090/aviasales/v3/prices_for_dates", {}, "sandbox"),  # curl without a date
        (None, {}, "sandbox"),  # no request recorded: not known to be real
    ],
)
def test_a_store_from_before_the_claim_is_judged_by_its_newest_exchange(
    raw_target: StoreTarget, url: str | None, headers: dict[str, str], kind: str
) -> None:
    legacy = RawStore(open_raw_database(load_settings(**raw_target.overrides)))  # no upstream: no claim
    legacy.insert_exchanges([_document(1, request={"url": url, "headers": {"accept": "*/*", **headers}})])
    other = "real" if kind == "sandbox" else "sandbox"
    with pytest.raises(MixedUpstreams):
        _writer(raw_target, other).ensure_indexes()
    same = _writer(raw_target, kind)
    same.ensure_indexes()
    assert same.insert_exchanges([_document(2)]) == [2]
    legacy.close()
    same.close()


def test_the_proxy_refuses_to_start_on_the_other_upstreams_store(tt_env: Path) -> None:
    """`make run` with the sandbox, then with a token in the same home: the proxy stops with the
    reason (the local pipeline shows it) instead of recording real prices next to simulated ones."""
    import os
    import subprocess
    import sys

    from tests.support import free_port

    sandbox = RawStore.open(load_settings(), writer=True)  # no token: the sandbox
    sandbox.ensure_indexes()
    sandbox.close()
    tickettrak = Path(sys.executable).with_name("tickettrak")
    done = subprocess.run(
        [str(tickettrak), "proxy", "--host", "127.0.0.1", "--port", str(free_port())],
        env={**os.environ, "TICKETTRAK_AVIASALES_TOKEN": "a-real-token"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    last = (done.stdout + done.stderr).strip().splitlines()[-1]
    assert last.startswith("error: the RAW store") and "refusing to mix" in last
    assert "a-real-token" not in done.stdout + done.stderr
