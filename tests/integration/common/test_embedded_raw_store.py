"""The embedded RAW store (montydb on SQLite) through the pymongo-style calls the proxy and the
loader use: a RAW document goes in and comes back unchanged, across processes too."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from tickettrak.common.embedded.mongo import embedded_raw_dir, is_embedded, open_raw_database
from tickettrak.common.settings import load_settings

pytestmark = pytest.mark.integration

V3_BODY = "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_2025-12-13.json"


def raw_document(seq: int, body: Any) -> dict[str, Any]:
    """A document shaped like ARCHITECTURE.md's RAW contract."""
    now = datetime(2025, 12, 11, 13, 54, 0, 123000, tzinfo=UTC)
    return {
        "seq": seq,
        "schema_version": 1,
        "request_id": f"req-{seq}",
        "run_id": "manual__2025-12-11",
        "logical_date": "2025-12-11",
        "request_key": "ab" * 32,
        "endpoint": "/aviasales/v3/prices_for_dates",
        "request": {
            "method": "GET",
            "url": "https://api.travelpayouts.com/aviasales/v3/prices_for_dates?origin=MOW",
            "query": {"origin": "MOW", "destination": "DXB", "departure_at": "2025-12-13", "limit": "20"},
            "headers": {"accept-encoding": "gzip, deflate"},
        },
        "response": {
            "status": 200,
            "headers": {},
            "body_format": "json",
            "body": body,
            "body_text": None,
            "error": None,
        },
        "timing": {"requested_at": now, "received_at": now, "duration_ms": 412.5},
        "written_at": now,
    }


def test_round_trip_keeps_the_body_unchanged(tt_env: Path, fixtures_dir: Path) -> None:
    settings = load_settings()
    assert is_embedded(settings)
    db = open_raw_database(settings)
    body = json.loads((fixtures_dir / V3_BODY).read_text())
    collection = db["raw_exchanges"]
    inserted = collection.insert_one(raw_document(1, body)).inserted_id
    collection.insert_many(
        [raw_document(2, {"data": [], "currency": "rub", "success": True}), raw_document(3, body)]
    )

    assert isinstance(inserted, ObjectId)
    found = collection.find_one({"_id": inserted})
    assert found is not None
    assert found["response"]["body"] == body  # every offer, every key, same order of offers
    assert list(found["response"]["body"]["data"][0]) == list(body["data"][0])  # key order too
    assert found["response"]["body"]["data"][0]["flight_number"] == "715"
    assert found["timing"]["duration_ms"] == 412.5
    # Aware datetimes come back aware and equal, as from a real MongoDB with tz_aware=True.
    assert found["timing"]["requested_at"] == datetime(2025, 12, 11, 13, 54, 0, 123000, tzinfo=UTC)
    assert found["timing"]["requested_at"].utcoffset() is not None

    # The loader's read: everything after a watermark, in write order.
    after = [d["seq"] for d in collection.find({"seq": {"$gt": 1}}).sort("seq", 1)]
    assert after == [2, 3]
    assert collection.count_documents({"endpoint": "/aviasales/v3/prices_for_dates"}) == 3
    assert (embedded_raw_dir(settings) / "monty.storage.cfg").exists()


READER = textwrap.dedent(
    """
    import json
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings
    collection = open_raw_database(load_settings())["raw_exchanges"]
    if __import__("sys").argv[1] == "write":
        collection.insert_one({"seq": 10, "response": {"body": {"data": [{"price": 15687}]}}})
    docs = list(collection.find({}, {"_id": 0}).sort("seq", 1))
    print(json.dumps(docs))
    """
)


def test_persists_across_processes(tt_env: Path) -> None:
    def run(mode: str) -> list[dict[str, Any]]:
        result = subprocess.run(
            [sys.executable, "-c", READER, mode], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stderr
        docs: list[dict[str, Any]] = json.loads(result.stdout)
        return docs

    assert run("write") == [{"seq": 10, "response": {"body": {"data": [{"price": 15687}]}}}]
    # Another process, later, and this one: the document is still there.
    assert run("read") == [{"seq": 10, "response": {"body": {"data": [{"price": 15687}]}}}]
    here = open_raw_database(load_settings())["raw_exchanges"].find_one({"seq": 10})
    assert here is not None and here["response"]["body"]["data"][0]["price"] == 15687
