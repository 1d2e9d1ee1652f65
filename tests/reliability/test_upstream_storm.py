"""Upstream storm from the sandbox — 30 % 5xx, a burst of 429s, 5 s stalls, malformed and truncated
bodies — through the real proxy process, then the loader: the pipeline completes; every upstream
exchange (failures included) is one RAW document; every planned request is retried to success or
ends with a counted reason; the loader keeps every failure in request_logs with its reason.

(tests/integration/collector/test_collect_faults.py covers 25 % 5xx + random 429/broken bodies
for the collector alone; this adds the stalls, a 429 burst, 30 % 5xx and the load after it.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from typing import Any

import psycopg
import pytest

from tests.integration.collector.conftest import StackFactory, is_success
from tickettrak.collector.plan import build_plan
from tickettrak.collector.runner import RunOptions, run_collection
from tickettrak.common.embedded.mongo import open_raw_database
from tickettrak.common.settings import load_settings
from tickettrak.loader.loader import run_load

pytestmark = [pytest.mark.slow]

LOGICAL_DATE = date(2026, 5, 11)
STORM = {
    "error_5xx": 0.30,
    "rate_429": 0.05,
    "malformed": 0.05,
    "truncated": 0.05,
    "stall": 0.04,
    "stall_s": 5.0,
    "seed": 2026,
}
ROUTES: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED"], "destinations": ["DXB", "AUH"], "both_directions": True},
    "horizon": {"daily_days": 0, "months": 2},
    "trips": {"one_way": True, "round_trip_days": [7]},
    "queries": [
        {"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["monthly"]},
        {"endpoint": "grouped_prices", "trips": ["round_trip"], "departures": ["monthly"], "months": 1},
    ],
    "limits": {"prices_for_dates": 300, "grouped_prices": 300},
    "sending": {
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.5,
        "max_attempts": 12,
        "attempt_timeout_s": 8,
        "request_deadline_s": 90,
        "pause_on_429_s": 0.2,
    },
}


async def _burst_of_429s(stack: Any) -> None:
    """After the run started: 1.5 s in which every call gets a 429, then the storm again."""
    await asyncio.sleep(1.0)
    await asyncio.to_thread(stack.sandbox.set_faults, **{**STORM, "rate_429": 1.0})
    await asyncio.sleep(1.5)
    await asyncio.to_thread(stack.sandbox.set_faults, **STORM)


async def test_storm_completes_and_every_failure_is_recorded(
    collector_stack: StackFactory, new_postgres_database: Any
) -> None:
    stack = collector_stack(
        faults=STORM,
        # the proxy gives up on a 5 s stall after 3 s (a transport error, recorded and retried)
        proxy_env={"TICKETTRAK_PROXY_READ_TIMEOUT_S": "3", "TICKETTRAK_PROXY_UPSTREAM_429_COOLDOWN_S": "0.2"},
    )
    _, config = stack.routes_file(ROUTES)
    plan = build_plan(config, LOGICAL_DATE)
    burst = asyncio.create_task(_burst_of_429s(stack))
    summary = await run_collection(config, plan, RunOptions(stack.proxy_url, LOGICAL_DATE, "storm-1"))
    await burst
    await asyncio.sleep(2.5)  # let stalled upstream answers the proxy gave up on finish in the sandbox

    # every planned request: retried to success, or failed with a reason that is counted
    assert sorted(o.key for o in summary.outcomes) == sorted(r.key for r in plan)
    assert all(o.succeeded or o.reason for o in summary.outcomes)
    assert summary.succeeded + summary.failed == len(plan)
    assert summary.succeeded >= len(plan) - 2, [o for o in summary.outcomes if not o.succeeded]
    reasons = summary.retries_by_reason
    faults = stack.sandbox.stats()["faults"]
    # the storm happened: each kind of fault was injected, and retried
    for kind in ("5xx", "429", "stall_or_latency"):
        assert faults.get(kind, 0) >= 1, faults
    assert faults.get("malformed", 0) + faults.get("truncated", 0) >= 1, faults
    assert reasons.get("http_502", 0) >= 1 and reasons.get("http_429", 0) >= 1, reasons

    # RAW: every upstream exchange is a document; failures included
    documents = await asyncio.to_thread(stack.raw_documents, LOGICAL_DATE.isoformat())
    upstream_calls = stack.sandbox.stats()["total"]
    assert len(documents) == upstream_calls, (len(documents), upstream_calls)
    failures_in_raw = [d for d in documents if not is_success(d)]
    assert len(failures_in_raw) >= sum(faults.values()) - faults.get("stall_or_latency", 0)
    successes = Counter(d["request_key"] for d in documents if is_success(d))
    for outcome in summary.outcomes:
        assert successes[outcome.key] == (1 if outcome.succeeded else 0), outcome
    stalled = [d for d in documents if d["response"].get("error")]
    assert stalled, "no transport error recorded for a stalled upstream"

    # the load completes; every failure is in request_logs with a reason, every success loaded
    dsn = new_postgres_database()
    raw = open_raw_database(load_settings(home=str(stack.home)))
    try:
        await asyncio.to_thread(run_load, dsn, raw)
    finally:
        raw.client.close()
    with psycopg.connect(dsn) as conn:
        logs = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE success), "
            "count(*) FILTER (WHERE NOT success AND (coalesce(error, '') <> '' OR EXISTS "
            "(SELECT 1 FROM aviasales.load_errors e WHERE e.raw_id = l.raw_id AND e.reason <> ''))) "
            "FROM aviasales.request_logs l"
        ).fetchone()
        tickets = conn.execute("SELECT count(*) FROM aviasales.tickets").fetchone()
    assert logs is not None and tickets is not None
    assert logs[0] == len(documents), logs
    assert logs[1] == sum(successes.values()), logs
    assert logs[2] == logs[0] - logs[1], "a failed exchange without a reason in request_logs"
    assert tickets[0] > 0
