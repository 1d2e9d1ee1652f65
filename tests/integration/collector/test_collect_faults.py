"""Against the sandbox with 429s, 5xx and broken bodies injected, through the real proxy:
every planned request ends succeeded or failed with a reason, and RAW agrees."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from typing import Any

import pytest

from tests.integration.collector.conftest import StackFactory, is_success
from tickettrak.collector.plan import build_plan
from tickettrak.collector.runner import RunOptions, run_collection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOGICAL_DATE = date(2026, 3, 2)

ROUTES: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED"], "destinations": ["DXB", "AUH"], "both_directions": True},
    "horizon": {"daily_days": 0, "months": 2},
    "trips": {"one_way": True, "round_trip_days": [7]},
    "queries": [
        {
            "endpoint": "prices_for_dates",
            "trips": ["one_way"],
            "departures": ["monthly"],
            "params": {"limit": 100},
        },
        {"endpoint": "grouped_prices", "trips": ["round_trip"], "departures": ["monthly"], "months": 1},
    ],
    # fast retries so that the test is short; the proxy's budget is not the subject here
    "sending": {"backoff_base_s": 0.05, "backoff_max_s": 0.4, "max_attempts": 8, "request_deadline_s": 60},
}


async def test_injected_faults_end_in_success_or_a_reason(collector_stack: StackFactory) -> None:
    stack = collector_stack(
        faults={"error_5xx": 0.25, "rate_429": 0.12, "truncated": 0.05, "malformed": 0.05, "seed": 11},
        # an upstream 429 without Retry-After pauses the proxy's endpoint: briefly, for the test
        proxy_env={"TICKETTRAK_PROXY_UPSTREAM_429_COOLDOWN_S": "0.3"},
    )
    _, config = stack.routes_file(ROUTES)
    plan = build_plan(config, LOGICAL_DATE)
    assert len(plan) == 8 * 2 + 8 * 1

    options = RunOptions(stack.proxy_url, LOGICAL_DATE, "faults-run-1")
    summary = await run_collection(config, plan, options)

    # every planned request has exactly one final outcome
    assert sorted(o.key for o in summary.outcomes) == sorted(r.key for r in plan)
    for outcome in summary.outcomes:
        assert outcome.succeeded or outcome.reason, outcome
    assert summary.succeeded + summary.failed == len(plan)
    # the faults really happened and were retried
    faults = stack.sandbox.stats()["faults"]
    assert faults.get("5xx", 0) >= 2 and faults.get("429", 0) >= 1, faults
    assert summary.retries_by_reason["http_502"] >= 2
    assert summary.retries_by_reason["http_429"] >= 1
    assert summary.succeeded >= len(plan) - 1  # 8 attempts beat a 47 % fault rate nearly always

    # RAW is the record: each success the collector saw is a success document with run and date
    documents = await asyncio.to_thread(stack.raw_documents, LOGICAL_DATE.isoformat())
    succeeded_in_raw = Counter(d["request_key"] for d in documents if is_success(d))
    for outcome in summary.outcomes:
        assert (succeeded_in_raw[outcome.key] == 1) == outcome.succeeded, outcome
    assert {d["run_id"] for d in documents} == {"faults-run-1"}
    assert not any("token" in d["request"]["query"] for d in documents)
    # failures were recorded too (the proxy logs every exchange, good or bad)
    assert sum(1 for d in documents if not is_success(d)) >= 3


async def test_a_failing_endpoint_fails_the_run_with_the_reason_last(collector_stack: StackFactory) -> None:
    stack = collector_stack(faults={"error_5xx": 1.0, "endpoints": ["grouped_prices"]})
    routes, config = stack.routes_file(
        {**ROUTES, "sending": {**ROUTES["sending"], "max_attempts": 2, "backoff_base_s": 0.01}}
    )
    args = ["--logical-date", LOGICAL_DATE.isoformat(), "--routes", str(routes), "--run-id", "doomed"]
    code, output = await asyncio.to_thread(stack.collect, args, "c.log")
    assert code == 1, output
    last = output.strip().splitlines()[-1]
    assert last == (
        "error: collect 2026-03-02: 8 of 24 planned requests failed "
        "(33.3% > --max-failure-share 5.0%; http_502 8)"
    )
    assert "succeeded 16 (empty 0), failed 8" in output
    # a rerun sends only the 8 still missing (they fail again)
    plan = build_plan(config, LOGICAL_DATE)
    summary = await run_collection(config, plan, RunOptions(stack.proxy_url, LOGICAL_DATE, "rerun"))
    assert (summary.already_done, summary.to_send, summary.failed) == (16, 8, 8)
    assert summary.failure_share == 8 / 24
    assert stack.sandbox.calls("prices_for_dates") == 16  # nothing that succeeded was asked again
