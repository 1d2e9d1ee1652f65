"""The sender's retry rules, against a tiny scripted HTTP server (not an Aviasales imitation: it
answers each request with the next scripted status, the way any server in front of us could).
The real proof, against the sandbox and the proxy, is in tests/integration/collector."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from typing import Any

import httpx
import pytest

from tickettrak.collector.config import Sending
from tickettrak.collector.limiter import RateLimiter
from tickettrak.collector.plan import PlannedRequest
from tickettrak.collector.sender import Sender, backoff_delay, count_offers, parse_retry_after
from tickettrak.common.endpoints import request_key

OK = (200, {}, {"success": True, "data": [{"price": 1}, {"price": 2}], "currency": "rub"})
EMPTY = (200, {}, {"success": True, "data": [], "currency": "rub"})

Scripted = tuple[int, dict[str, str], Any]


class ScriptedServer:
    """Answers the requests of one `origin` with its script in order; the last answer repeats."""

    def __init__(self, scripts: dict[str, list[Scripted]]) -> None:
        self.scripts = scripts
        self.calls: dict[str, list[tuple[float, dict[str, str]]]] = defaultdict(list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        query = dict(httpx.QueryParams(scope["query_string"].decode()))
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        origin = query["origin"]
        self.calls[origin].append((time.monotonic(), headers))
        script = self.scripts[origin]
        status, extra, body = script[min(len(self.calls[origin]), len(script)) - 1]
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        raw_headers = [(b"content-type", b"application/json")]
        raw_headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})


def planned(origin: str) -> PlannedRequest:
    query = {"origin": origin, "destination": "DXB", "departure_at": "2026-03"}
    path = "/aviasales/v3/prices_for_dates"
    return PlannedRequest(
        "prices_for_dates", path, query, f"{origin}-DXB", "one_way", "2026-03", request_key(path, query)
    )


FAST = Sending(
    backoff_base_s=0.01,
    backoff_max_s=0.05,
    max_attempts=4,
    attempt_timeout_s=2,
    request_deadline_s=10,
    pause_on_429_s=0.05,
)


async def send_all(
    server: ScriptedServer, origins: list[str], config: Sending = FAST
) -> tuple[Sender, dict[str, Any]]:
    transport = httpx.ASGITransport(app=server)
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test") as client:
        sender = Sender(
            client,
            run_id="run-1",
            logical_date="2026-02-01",
            limiters={"prices_for_dates": RateLimiter(60_000)},
            config=config,
        )
        outcomes = await sender.run([planned(o) for o in origins])
    return sender, {o.route.split("-")[0]: o for o in outcomes}


async def test_retryable_answers_are_retried_until_success() -> None:
    server = ScriptedServer(
        {
            "MOW": [(503, {}, {"error": "busy"}), (500, {}, "oops"), OK],
            "LED": [(429, {"Retry-After": "0"}, {"error": "slow down"}), EMPTY],
            "KZN": [(200, {}, '{"success": true, "data": [tru'), OK],  # truncated JSON, then whole
        }
    )
    sender, outcomes = await send_all(server, ["MOW", "LED", "KZN"])
    assert outcomes["MOW"].succeeded and outcomes["MOW"].offers == 2 and outcomes["MOW"].attempts == 3
    assert outcomes["LED"].succeeded and outcomes["LED"].empty and outcomes["LED"].attempts == 2
    assert outcomes["KZN"].succeeded and outcomes["KZN"].attempts == 2
    assert sender.retries == {"http_503": 1, "http_500": 1, "http_429": 1, "invalid_json": 1}
    assert sender.stats["prices_for_dates"].attempts == 7


async def test_what_cannot_succeed_fails_with_its_reason() -> None:
    server = ScriptedServer(
        {
            "MOW": [(503, {}, {})],  # always: gives up after max_attempts
            "LED": [(422, {}, {"detail": "bad origin"})],  # our mistake: never retried
            "KZN": [(200, {}, {"success": False, "error": "no"})],
        }
    )
    _, outcomes = await send_all(server, ["MOW", "LED", "KZN"])
    assert (outcomes["MOW"].reason, outcomes["MOW"].attempts) == ("http_503", 4)
    assert (outcomes["LED"].reason, outcomes["LED"].attempts) == ("http_422", 1)
    assert (outcomes["KZN"].reason, outcomes["KZN"].attempts) == ("api_error", 1)
    assert not any(o.succeeded for o in outcomes.values())


async def test_retry_after_is_honoured_for_the_whole_endpoint() -> None:
    server = ScriptedServer({"MOW": [(429, {"Retry-After": "1"}, {}), OK], "LED": [OK]})
    config = Sending(backoff_base_s=0.01, backoff_max_s=0.05, max_in_flight=1)
    _, outcomes = await send_all(server, ["MOW", "LED"], config)
    assert outcomes["MOW"].succeeded and outcomes["LED"].succeeded
    (first, _), (second, _) = server.calls["MOW"]
    assert second - first >= 1.0
    (led, _) = server.calls["LED"][0]
    assert led - first >= 1.0  # LED waited too: a 429 means the budget is gone for everyone


async def test_429_with_retry_after_is_waiting_not_failing() -> None:
    wait = (429, {"Retry-After": "0"}, {"error": "over budget"})
    server = ScriptedServer({"MOW": [wait] * 6 + [OK], "LED": [(429, {}, {})]})
    _, outcomes = await send_all(server, ["MOW", "LED"])  # max_attempts 4
    assert outcomes["MOW"].succeeded and outcomes["MOW"].attempts == 7
    # without Retry-After a 429 counts as a failed attempt
    assert (outcomes["LED"].reason, outcomes["LED"].attempts) == ("http_429", 4)


async def test_the_deadline_ends_a_request_that_keeps_failing() -> None:
    server = ScriptedServer({"MOW": [(503, {"Retry-After": "0.4"}, {})]})
    config = Sending(backoff_base_s=0.01, backoff_max_s=0.05, max_attempts=20, request_deadline_s=1.0)
    started = time.monotonic()
    _, outcomes = await send_all(server, ["MOW"], config)
    assert outcomes["MOW"].reason == "http_503"
    assert 1 < outcomes["MOW"].attempts < 5
    assert time.monotonic() - started < 2.0


async def test_run_id_and_logical_date_go_in_headers_and_no_token_anywhere() -> None:
    server = ScriptedServer({"MOW": [OK]})
    await send_all(server, ["MOW"])
    (_, headers) = server.calls["MOW"][0]
    assert headers["x-tickettrak-run-id"] == "run-1"
    assert headers["x-tickettrak-logical-date"] == "2026-02-01"
    assert "x-access-token" not in headers


async def test_a_planned_token_is_refused_before_sending() -> None:
    request = planned("MOW")
    request.query["token"] = "secret"
    async with httpx.AsyncClient(base_url="http://proxy.test") as client:
        sender = Sender(
            client,
            run_id="r",
            logical_date="2026-02-01",
            limiters={"prices_for_dates": RateLimiter(60)},
            config=FAST,
        )
        with pytest.raises(ValueError, match="token"):
            await sender.run([request])


def test_backoff_grows_is_jittered_is_capped_and_respects_retry_after() -> None:
    config = Sending(backoff_base_s=1, backoff_max_s=8)
    for attempt, (low, high) in {1: (0.5, 1), 2: (1, 2), 3: (2, 4), 4: (4, 8), 9: (4, 8)}.items():
        delays = {backoff_delay(attempt, config) for _ in range(50)}
        assert all(low <= d <= high for d in delays)
        assert len(delays) > 1  # jitter
    assert backoff_delay(1, config, retry_after=30) == 30
    assert (
        parse_retry_after("7") == 7 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    )


def test_offers_are_counted_in_every_body_shape() -> None:
    assert count_offers({"success": True, "data": [1, 2, 3]}) == 3  # v3 list and v2
    assert count_offers({"success": True, "data": {"2026-03-01": {}, "2026-03-02": {}}}) == 2  # grouped
    assert count_offers({"success": True, "data": None}) == 0
    assert count_offers([1]) == 0
