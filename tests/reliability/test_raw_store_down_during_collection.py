"""RAW store (FerretDB) stopped in the middle of a collection and started again.

The proxy is a real `tickettrak proxy` process writing RAW to a FerretDB the test stops and starts
(same port, same files). Proven: the proxy returned no 200 that lacks its RAW record (every
success the collector saw is one success document; the sandbox answered more than RAW holds, so
answers really were withheld while the store was down); the collector's retries complete the plan;
RAW holds exactly one success per planned request and seq stays dense.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import date
from typing import Any

import pytest

from tests.fixtures.ferretdb import FerretDBFactory, unique_database_name
from tests.integration.collector.conftest import StackFactory, is_success
from tickettrak.collector.plan import build_plan
from tickettrak.collector.runner import RunOptions, run_collection

pytestmark = [pytest.mark.slow, pytest.mark.ferretdb]

LOGICAL_DATE = date(2026, 4, 6)
ROUTES: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED", "KZN"], "destinations": ["DXB", "AUH"], "both_directions": True},
    "horizon": {"daily_days": 0, "months": 2},
    "trips": {"one_way": True, "round_trip_days": [7]},
    "queries": [
        {"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["monthly"]},
        {"endpoint": "grouped_prices", "trips": ["round_trip"], "departures": ["monthly"], "months": 1},
    ],
    "limits": {"prices_for_dates": 240, "grouped_prices": 240},  # ~4 a second: the run spans the outage
    # patient enough to outlast a few seconds of outage: backoff up to 1 s, 20 attempts, 120 s
    "sending": {"backoff_base_s": 0.1, "backoff_max_s": 1.0, "max_attempts": 20, "request_deadline_s": 120},
}


def _raw(stack: Any) -> list[dict[str, Any]]:
    return stack.raw_documents(LOGICAL_DATE.isoformat())


async def test_ferretdb_stopped_mid_collection_loses_nothing(
    collector_stack: StackFactory, ferretdb_factory: FerretDBFactory
) -> None:
    ferretdb = ferretdb_factory()
    database = unique_database_name("rel")
    stack = collector_stack(
        proxy_env={
            "TICKETTRAK_MONGO_URI": ferretdb.uri,
            "TICKETTRAK_MONGO_DATABASE": database,
            "TICKETTRAK_PROXY_RAW_WRITE_TIMEOUT_S": "2",
        },
    )
    _, config = stack.routes_file(ROUTES)
    plan = build_plan(config, LOGICAL_DATE)
    assert len(plan) == 12 * 2 + 12

    # the test reads RAW from FerretDB, as the loader would
    import pymongo

    reader: Any = pymongo.MongoClient(ferretdb.uri, serverSelectionTimeoutMS=2000)

    def raw_documents() -> list[dict[str, Any]]:
        return list(reader[database]["raw_exchanges"].find({"logical_date": LOGICAL_DATE.isoformat()}))

    collection = asyncio.create_task(
        run_collection(config, plan, RunOptions(stack.proxy_url, LOGICAL_DATE, "store-down-1"))
    )
    # Stop the store once a few exchanges are in RAW (the run is ~10 s long at 4 a second).
    deadline = time.monotonic() + 60
    while len(await asyncio.to_thread(raw_documents)) < 5:
        assert time.monotonic() < deadline and not collection.done(), "the collection did not start"
        await asyncio.sleep(0.1)
    await asyncio.to_thread(ferretdb.stop)
    calls_when_stopped = stack.sandbox.stats()["total"]
    await asyncio.sleep(3.0)
    await asyncio.to_thread(ferretdb.start)
    summary = await asyncio.wait_for(collection, timeout=180)

    # the retries completed the plan
    assert summary.failed == 0, [o for o in summary.outcomes if not o.succeeded]
    assert sorted(o.key for o in summary.outcomes) == sorted(r.key for r in plan)
    assert summary.retries_by_reason.get("http_503", 0) >= 1, summary.retries_by_reason

    documents = await asyncio.to_thread(raw_documents)
    reader.close()
    successes = Counter(d["request_key"] for d in documents if is_success(d))
    # every success the client received has its RAW record, exactly once, and nothing else succeeded
    assert successes == Counter(r.key for r in plan), successes
    seqs = sorted(d["seq"] for d in documents)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq has a gap or a duplicate"
    # the outage was real: the sandbox answered requests whose answers were withheld (it gave more
    # 200s than RAW holds successes: the proxy got data it could not record and did not return it)
    answered = sum(int(c.get("200", 0)) for c in stack.sandbox.stats()["by_endpoint"].values())
    assert calls_when_stopped >= 5
    assert answered > sum(successes.values()), (answered, sum(successes.values()))
