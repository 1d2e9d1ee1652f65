"""The fixture other stages use: a live sandbox on a free port, its stats and faults levers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.fixtures.sandbox import SandboxFactory

pytestmark = pytest.mark.integration

PRICES = "/aviasales/v3/prices_for_dates"


def test_factory_serves_counts_and_injects_faults(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory(as_of="2026-03-02")
    depart = date(2026, 3, 2) + timedelta(days=40)
    params = {
        "origin": "MOW",
        "destination": "DXB",
        "departure_at": depart.isoformat(),
        "return_at": (depart + timedelta(days=5)).isoformat(),
        "one_way": "false",
        "limit": 20,
    }
    ok = sandbox.get(PRICES, params)
    assert ok.status_code == 200
    assert len(ok.json()["data"]) == 20

    sandbox.set_faults(error_5xx=1.0, max_faults=1)
    assert sandbox.get(PRICES, params).status_code == 502
    assert sandbox.get(PRICES, params).status_code == 200  # max_faults=1: the retry succeeds

    assert sandbox.calls("prices_for_dates", 200) == 2
    assert sandbox.calls("prices_for_dates", 502) == 1
    assert sandbox.max_calls_per_minute("prices_for_dates") == 3
    sandbox.reset()
    assert sandbox.stats()["total"] == 0


def test_sandbox_url_refuses_calls_without_token(sandbox_url: str) -> None:
    import httpx

    response = httpx.get(sandbox_url + PRICES, params={"origin": "MOW", "destination": "DXB"})
    assert response.status_code == 401
    assert response.json()["success"] is False


def test_a_stalled_answer_trips_the_client_timeout_and_the_server_still_stops(
    sandbox_factory: SandboxFactory,
) -> None:
    import httpx

    sandbox = sandbox_factory(faults={"stall": 1.0, "stall_s": 5})
    with pytest.raises(httpx.ReadTimeout):
        headers = {"X-Access-Token": sandbox.token}
        httpx.get(sandbox.base_url + PRICES, params={"origin": "MOW"}, headers=headers, timeout=0.5)
    sandbox.set_faults()
    assert sandbox.get(PRICES, {"origin": "MOW", "destination": "DXB"}).status_code == 200


def test_concurrent_clients_are_all_answered_and_counted(sandbox_factory: SandboxFactory) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sandbox = sandbox_factory(rate_limits={"prices_for_dates": 40})
    start = date.today() + timedelta(days=10)

    def call(k: int) -> int:
        day = (start + timedelta(days=k % 20)).isoformat()
        return sandbox.get(PRICES, {"origin": "MOW", "destination": "DXB", "departure_at": day}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(50)))
    assert statuses.count(200) == 40 and statuses.count(429) == 10
    assert sandbox.calls("prices_for_dates") == 50
    assert sandbox.max_calls_per_minute("prices_for_dates") == 50


def test_gzip_when_asked(sandbox_factory: SandboxFactory) -> None:
    sandbox = sandbox_factory()
    depart = date.today() + timedelta(days=40)
    params = {"origin": "MOW", "destination": "DXB", "departure_at": depart.isoformat(), "limit": 20,
              "return_at": (depart + timedelta(days=5)).isoformat(), "one_way": "false"}  # fmt: skip
    zipped = sandbox.get(PRICES, params, **{"Accept-Encoding": "gzip, deflate"})
    plain = sandbox.get(PRICES, params, **{"Accept-Encoding": "identity"})
    assert zipped.headers.get("content-encoding") == "gzip" and "content-encoding" not in plain.headers
    assert zipped.json() == plain.json()
