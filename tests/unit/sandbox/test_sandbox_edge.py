"""The edge around the market: token, rate limits, the as-of clock, faults, stats, admin API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.fixtures.sandbox import InProcessSandbox
from tickettrak.common.settings import SANDBOX_TOKEN
from tickettrak.sandbox.control import documented_limits, max_in_window

AS_OF = date(2026, 3, 2)
PRICES = "/aviasales/v3/prices_for_dates"
MATRIX = "/v2/prices/month-matrix"
QUERY = {
    "origin": "MOW",
    "destination": "DXB",
    "departure_at": (AS_OF + timedelta(days=40)).isoformat(),
    "return_at": (AS_OF + timedelta(days=45)).isoformat(),
    "one_way": "false",
    "limit": "20",
}
Make = Callable[..., InProcessSandbox]


class FakeClock:
    def __init__(self, start: float = 1_780_000_040.0) -> None:  # 20 s into a minute
        self.now = start

    def __call__(self) -> float:
        return self.now


# --- token ---------------------------------------------------------------------------------------
def test_the_sandbox_token_is_accepted_in_the_header_or_the_query(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    assert app.client.get(PRICES, params=QUERY, headers={"X-Access-Token": SANDBOX_TOKEN}).status_code == 200
    assert app.client.get(PRICES, params={**QUERY, "token": SANDBOX_TOKEN}).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"X-Access-Token": "wrong"}, {"X-Access-Token": ""}])
def test_missing_or_wrong_token_is_401_with_a_json_error(sandbox_app: Make, headers: dict[str, str]) -> None:
    app = sandbox_app(as_of=AS_OF)
    response = app.client.get(PRICES, params=QUERY, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert (
        body == {"success": False, "data": None, "error": body["error"]} and "token" in body["error"].lower()
    )


def test_a_token_override_replaces_the_sandbox_token(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF, token="my-own-token")
    assert app.client.get(PRICES, params=QUERY, headers={"X-Access-Token": SANDBOX_TOKEN}).status_code == 401
    assert app.client.get(PRICES, params=QUERY, headers={"X-Access-Token": "my-own-token"}).status_code == 200
    assert app.client.get(PRICES, params={**QUERY, "token": "my-own-token"}).status_code == 200


def test_the_token_never_changes_the_answer(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    by_header = app.client.get(PRICES, params=QUERY, headers={"X-Access-Token": SANDBOX_TOKEN})
    by_query = app.client.get(PRICES, params={**QUERY, "token": SANDBOX_TOKEN})
    assert by_header.content == by_query.content


# --- rate limits ---------------------------------------------------------------------------------
def test_documented_limits_are_600_and_300_per_minute_and_scale() -> None:
    limits = documented_limits()
    assert limits == {
        "prices_for_dates": 600,
        "grouped_prices": 600,
        "get_latest_prices": 300,
        "month_matrix": 300,
    }
    assert documented_limits(10)["month_matrix"] == 3000
    assert set(documented_limits(0).values()) == {0}
    assert documented_limits(1, {"prices_for_dates": 5})["prices_for_dates"] == 5
    with pytest.raises(ValueError, match="unknown endpoint"):
        documented_limits(1, {"prices": 5})


def test_over_the_limit_is_429_until_the_minute_ends(sandbox_app: Make) -> None:
    clock = FakeClock()
    app = sandbox_app(as_of=AS_OF, clock=clock, rate_limits={"prices_for_dates": 3})
    statuses = [app.get(PRICES, QUERY).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    body = app.get(PRICES, QUERY).json()
    assert body["success"] is False and "Too Many Requests" in body["error"]
    clock.now += 30  # still the same minute (20 s + 30 s)
    assert app.get(PRICES, QUERY).status_code == 429
    clock.now += 15  # the next minute
    assert [app.get(PRICES, QUERY).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_limits_are_per_token_and_per_endpoint(sandbox_app: Make) -> None:
    clock = FakeClock()
    app = sandbox_app(as_of=AS_OF, clock=clock, rate_limits={"prices_for_dates": 2, "month_matrix": 1})
    app.state.tokens = frozenset({SANDBOX_TOKEN, "second"})
    assert [app.get(PRICES, QUERY).status_code for _ in range(3)] == [200, 200, 429]
    other = app.client.get(PRICES, params=QUERY, headers={"X-Access-Token": "second"})
    assert other.status_code == 200  # another token has its own window
    matrix = {"origin": "MOW", "destination": "DXB"}
    assert [app.get(MATRIX, matrix).status_code for _ in range(2)] == [200, 429]


def test_rate_limits_change_at_runtime(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF, clock=FakeClock())
    assert app.client.get("/__sandbox/rate-limits").json()["prices_for_dates"] == 600
    assert app.client.post("/__sandbox/rate-limits", json={"prices_for_dates": 1}).status_code == 200
    assert [app.get(PRICES, QUERY).status_code for _ in range(2)] == [200, 429]
    assert app.client.post("/__sandbox/rate-limits", json={"nope": 1}).status_code == 422


# --- the as-of clock -----------------------------------------------------------------------------
def test_as_of_header_shows_the_market_of_that_day(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    today = app.get(PRICES, QUERY).json()
    same_day = app.get(PRICES, QUERY, as_of=AS_OF.isoformat()).json()
    earlier = app.get(PRICES, QUERY, as_of=(AS_OF - timedelta(days=10)).isoformat()).json()
    assert today == same_day
    assert earlier["data"] and earlier["data"] != today["data"]
    earlier_day = AS_OF - timedelta(days=10)
    for ticket in earlier["data"]:  # seen by searches of that time, not of today
        stamp = ticket["link"].split("search_date=")[1][:8]
        searched = date(int(stamp[4:]), int(stamp[2:4]), int(stamp[:2]))
        assert earlier_day - timedelta(days=6) <= searched <= earlier_day
    # a departure that is past for the later day is still upcoming for the earlier one
    depart = (AS_OF - timedelta(days=2)).isoformat()
    query = {"origin": "MOW", "destination": "DXB", "departure_at": depart}
    assert app.get(PRICES, query).json()["data"] == []
    assert app.get(PRICES, query, as_of=(AS_OF - timedelta(days=20)).isoformat()).json()["data"]


def test_default_as_of_is_today_from_the_clock(sandbox_app: Make) -> None:
    clock = FakeClock(1_780_000_040.0)  # 2026-05-28 UTC
    app = sandbox_app(clock=clock)
    assert app.client.get("/__sandbox/health").json()["as_of"] == "2026-05-28"
    pinned = app.get(PRICES, QUERY, as_of="2026-05-28").json()
    assert app.get(PRICES, QUERY).json() == pinned


def test_a_malformed_as_of_header_is_a_400(sandbox_app: Make) -> None:
    response = sandbox_app(as_of=AS_OF).get(PRICES, QUERY, as_of="02.03.2026")
    assert response.status_code == 400 and "X-Sandbox-As-Of" in response.json()["error"]


def test_an_as_of_datetime_means_its_day(sandbox_app: Make) -> None:
    app = sandbox_app()
    as_day = app.get(PRICES, QUERY, as_of="2026-03-01").content
    assert app.get(PRICES, QUERY, as_of="2026-03-01T00:00:00+00:00").content == as_day


def test_observation_days_build_a_history_with_prices_that_move(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    depart = AS_OF + timedelta(days=30)
    query = {"origin": "MOW", "destination": "DXB", "departure_at": depart.isoformat(), "one_way": "true"}
    history = {}
    for back in range(0, 30):
        day = AS_OF - timedelta(days=back)
        tickets = app.get(PRICES, query, as_of=day.isoformat()).json()["data"]
        if tickets:
            history[day] = tickets[0]["price"]
    assert len(history) >= 20
    assert len(set(history.values())) >= 10


# --- faults --------------------------------------------------------------------------------------
def test_faults_are_off_by_default(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    assert all(app.get(PRICES, QUERY).status_code == 200 for _ in range(20))
    assert app.client.get("/__sandbox/faults").json()["error_5xx"] == 0


def test_5xx_fault_is_an_html_edge_error(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF, faults={"error_5xx": 1.0, "error_status": 503})
    response = app.get(PRICES, QUERY)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html") and "<html>" in response.text


def test_429_fault_even_under_the_limit(sandbox_app: Make) -> None:
    response = sandbox_app(as_of=AS_OF, faults={"rate_429": 1.0}).get(PRICES, QUERY)
    assert response.status_code == 429 and response.json()["success"] is False


def test_malformed_fault_is_a_200_that_is_not_json(sandbox_app: Make) -> None:
    response = sandbox_app(as_of=AS_OF, faults={"malformed": 1.0}).get(PRICES, QUERY)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_truncated_fault_is_the_body_cut_short(sandbox_app: Make) -> None:
    whole = sandbox_app(as_of=AS_OF).get(PRICES, QUERY).content
    cut = sandbox_app(as_of=AS_OF, faults={"truncated": 1.0}).get(PRICES, QUERY).content
    assert whole.startswith(cut) and 0 < len(cut) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut)


def test_latency_and_stall_delay_the_answer(sandbox_app: Make) -> None:
    import time

    app = sandbox_app(as_of=AS_OF, faults={"latency": 1.0, "latency_ms": 300})
    started = time.perf_counter()
    assert app.get(PRICES, QUERY).status_code == 200
    assert time.perf_counter() - started >= 0.3
    app = sandbox_app(as_of=AS_OF, faults={"stall": 1.0, "stall_s": 0.5})
    started = time.perf_counter()
    assert app.get(PRICES, QUERY).status_code == 200
    assert time.perf_counter() - started >= 0.5


def test_fault_rates_are_probabilities_with_a_repeatable_seed(sandbox_app: Make) -> None:
    def statuses(seed: int) -> list[int]:
        app = sandbox_app(as_of=AS_OF, faults={"error_5xx": 0.3, "seed": seed})
        return [app.get(PRICES, QUERY).status_code for _ in range(60)]

    first = statuses(7)
    assert first == statuses(7)
    assert 5 <= first.count(502) <= 35 and first.count(200) + first.count(502) == 60
    assert first != statuses(8)


def test_faults_switch_at_runtime_and_max_faults_lets_retries_through(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    assert app.client.post("/__sandbox/faults", json={"error_5xx": 1.0, "max_faults": 2}).status_code == 200
    assert [app.get(PRICES, QUERY).status_code for _ in range(4)] == [502, 502, 200, 200]
    app.client.post("/__sandbox/faults", json={"truncated": 1.0, "endpoints": ["month_matrix"]})
    assert app.get(PRICES, QUERY).status_code == 200 and app.get(PRICES, QUERY).json()
    app.client.post("/__sandbox/faults", json={})
    assert app.get(PRICES, QUERY).status_code == 200
    bad = app.client.post("/__sandbox/faults", json={"error_5xx": 2})
    assert bad.status_code == 422
    assert app.client.post("/__sandbox/faults", json={"typo": 1}).status_code == 422


def test_reset_restores_the_start_up_faults_and_clears_stats(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF, faults={"rate_429": 1.0})
    app.client.post("/__sandbox/faults", json={})
    assert app.get(PRICES, QUERY).status_code == 200
    app.client.post("/__sandbox/reset")
    assert app.client.get("/__sandbox/stats").json()["total"] == 0
    assert app.get(PRICES, QUERY).status_code == 429


# --- stats ---------------------------------------------------------------------------------------
def test_stats_count_calls_by_endpoint_and_status_with_timestamps(sandbox_app: Make) -> None:
    clock = FakeClock()
    app = sandbox_app(as_of=AS_OF, clock=clock, rate_limits={"prices_for_dates": 2})
    for _ in range(3):
        app.get(PRICES, QUERY)
        clock.now += 1
    app.client.get(PRICES, params=QUERY)  # no token
    app.get(MATRIX, {"origin": "MOW", "destination": "DXB"})
    stats: dict[str, Any] = app.client.get("/__sandbox/stats").json()
    assert stats["total"] == 5
    assert stats["by_endpoint"] == {
        "month_matrix": {"200": 1},
        "prices_for_dates": {"200": 2, "401": 1, "429": 1},
    }
    assert stats["timestamps"]["prices_for_dates"] == [clock.now - 3, clock.now - 2, clock.now - 1, clock.now]
    assert stats["max_per_60s"]["prices_for_dates"] == 4
    assert stats["rate_limits"]["prices_for_dates"] == 2
    assert SANDBOX_TOKEN not in json.dumps(stats)  # tokens are labelled by hash only


def test_max_in_window_slides() -> None:
    assert max_in_window([], 60) == 0
    assert max_in_window([0, 10, 59.9, 60, 61, 200], 60) == 4  # 10, 59.9, 60, 61
    assert max_in_window([0, 60, 120], 60) == 1


# --- ground truth over HTTP ---------------------------------------------------------------------
def test_truth_endpoint_exposes_the_route_parameters(sandbox_app: Make) -> None:
    app = sandbox_app(as_of=AS_OF)
    truth = app.client.get("/__sandbox/truth", params={"origin": "MOW", "destination": "DXB"}).json()
    assert truth["cheapest_window"] == list(app.state.market.true_cheapest_window("MOW", "DXB"))
    assert truth["best_purchase_weekday"] == app.state.market.true_best_purchase_weekday("MOW", "DXB")
    assert (
        app.client.get("/__sandbox/truth", params={"origin": "MOW", "destination": "BCN"}).status_code == 404
    )
    everything = app.client.get("/__sandbox/truth").json()
    assert len(everything["routes"]) == 64 and everything["seed"] == app.state.market.seed


def test_paths_the_sandbox_does_not_model_say_so_in_json(sandbox_app: Make) -> None:
    response = sandbox_app(as_of=AS_OF).get("/v1/prices/cheap", {"origin": "MOW"})
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False and "/aviasales/v3/prices_for_dates" in body["error"]


def test_two_sandboxes_with_one_seed_answer_byte_for_byte_alike(sandbox_app: Make) -> None:
    first, second = sandbox_app(as_of=AS_OF), sandbox_app(as_of=AS_OF)
    other_seed = sandbox_app(as_of=AS_OF, seed=7)
    for path, params in ((PRICES, QUERY), (MATRIX, {"origin": "LED", "destination": "SHJ"})):
        assert first.get(path, params).content == second.get(path, params).content
        assert first.get(path, params).content != other_seed.get(path, params).content
