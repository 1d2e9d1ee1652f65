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
