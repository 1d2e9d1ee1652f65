"""The collector's own pacing keeps every endpoint under its per-minute limit in any 60 s window
(the proxy's budget is set wide open here, so only the collector can keep the promise), retries
included, while using the budget almost fully."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.integration.collector.conftest import StackFactory
from tickettrak.collector.plan import build_plan
from tickettrak.collector.runner import RunOptions, run_collection

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LIMIT = 10  # per minute: small, so that more than a minute's worth of requests is quick to send
LOGICAL_DATE = date(2026, 4, 10)

ROUTES: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED"], "destinations": ["DXB"], "both_directions": True},
    "horizon": {"daily_days": 0, "months": 3},
    "trips": {"one_way": True, "round_trip_days": [7]},
    "queries": [
        {"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["monthly"]},
        {"endpoint": "grouped_prices", "trips": ["round_trip"], "departures": ["monthly"], "months": 2},
    ],
    "limits": {"prices_for_dates": LIMIT, "grouped_prices": LIMIT},
    "sending": {"backoff_base_s": 0.05, "backoff_max_s": 0.2, "max_attempts": 10},
}


async def test_no_60_second_window_holds_more_than_the_limit(collector_stack: StackFactory) -> None:
    stack = collector_stack(
        sandbox_limits={"prices_for_dates": LIMIT, "grouped_prices": LIMIT},  # it answers 429 above
        faults={"error_5xx": 0.3, "endpoints": ["grouped_prices"], "seed": 12},  # 3 retries count too
        proxy_limits={"prices_for_dates": 600, "grouped_prices": 600},
    )
    _, config = stack.routes_file(ROUTES)
    plan = build_plan(config, LOGICAL_DATE)
    assert len(plan) == 4 * 3 + 4 * 2

    summary = await run_collection(config, plan, RunOptions(stack.proxy_url, LOGICAL_DATE, "limits-1"))

    assert summary.succeeded == len(plan), summary.lines()
    assert summary.retries_by_reason["http_502"] == 3  # the 5xx retries went through the limiter
    sandbox = stack.sandbox
    for endpoint in ("prices_for_dates", "grouped_prices"):
        assert sandbox.calls(endpoint, 429) == 0, sandbox.stats()["by_endpoint"]
        assert sandbox.max_calls_per_minute(endpoint) <= LIMIT
    # more than a minute's budget on each endpoint: the window check means something
    grouped_calls = sandbox.calls("grouped_prices")
    assert grouped_calls == 8 + 3 > LIMIT
    assert sandbox.calls("prices_for_dates") == 12 > LIMIT
    # ... and the budget is used: 12 sends need 11 intervals of 60/LIMIT s (+1 % margin), no more
    pfd = summary.endpoints["prices_for_dates"]
    assert pfd.achieved_per_minute is not None
    assert 0.95 * LIMIT <= pfd.achieved_per_minute <= LIMIT
    assert 11 * 60 / LIMIT <= summary.duration_s <= (grouped_calls - 1) * 60 * 1.01 / LIMIT + 10
