"""A collection killed in the middle (SIGKILL: no cleanup) and started again finishes the plan,
with every planned request succeeded exactly once in RAW."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import date
from typing import Any

import pytest

from tests.integration.collector.conftest import StackFactory, is_success
from tickettrak.collector.plan import build_plan

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOGICAL_DATE = date(2026, 2, 14)

ROUTES: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED", "KZN"], "destinations": ["DXB", "AUH"], "both_directions": True},
    "horizon": {"daily_days": 0, "months": 2},
    "trips": {"one_way": True, "round_trip_days": [7]},
    "queries": [
        {"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["monthly"]},
        {"endpoint": "grouped_prices", "trips": ["round_trip"], "departures": ["monthly"], "months": 1},
    ],
    "limits": {"prices_for_dates": 120, "grouped_prices": 120},  # 2 a second: a run of ~12 s
}


def successes(stack: Any) -> Counter[str]:
    return Counter(d["request_key"] for d in stack.raw_documents(LOGICAL_DATE.isoformat()) if is_success(d))


def wait_until_quiet(stack: Any, seconds: float = 1.5, timeout: float = 30) -> None:
    """Until the sandbox saw no new call for `seconds`: requests in flight at the kill are done."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        total = stack.sandbox.stats()["total"]
        if total != last:
            last, since = total, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return
        time.sleep(0.2)
    raise AssertionError("the sandbox kept receiving calls after the collector was killed")


def test_a_killed_run_resumes_without_duplicates(collector_stack: StackFactory) -> None:
    stack = collector_stack(faults={"latency": 1.0, "latency_ms": 250})
    routes, config = stack.routes_file(ROUTES)
    plan = build_plan(config, LOGICAL_DATE)
    planned = {r.key for r in plan}
    assert len(planned) == 12 * 2 + 12 * 1
    args = ["--logical-date", LOGICAL_DATE.isoformat(), "--routes", str(routes)]

    first = stack.start_collect([*args, "--run-id", "attempt-1"], "first.log")
    deadline = time.monotonic() + 60
    while len(stack.completed_keys(LOGICAL_DATE.isoformat())) < 8:
        assert first.poll() is None, (stack.workdir / "first.log").read_text()
        assert time.monotonic() < deadline, "the first run made no progress"
        time.sleep(0.3)
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    wait_until_quiet(stack)
    done_before = successes(stack)
    assert 8 <= len(done_before) < len(planned), "the kill must land in the middle of the run"

    code, output = stack.collect([*args, "--run-id", "attempt-2"], "second.log")
    assert code == 0, output
    assert f"planned {len(planned)}, done before this run {len(done_before)}, " in output

    final = successes(stack)
    assert set(final) == planned
    assert set(final.values()) == {1}, {k: n for k, n in final.items() if n != 1}
    runs = Counter(d["run_id"] for d in stack.raw_documents(LOGICAL_DATE.isoformat()) if is_success(d))
    assert runs == {"attempt-1": len(done_before), "attempt-2": len(planned) - len(done_before)}
