"""Through the proxy to the sandbox, with RAW on the embedded store and on FerretDB."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fixtures.sandbox import SandboxHandle
from tests.integration.proxy.conftest import LOGICAL_DATE, QUERIES, RUN_HEADERS, ProxyFactory
from tickettrak.common.endpoints import request_key
from tickettrak.common.raw_store import body_json

pytestmark = [pytest.mark.integration]


async def test_each_endpoint_client_body_equals_raw_body(
    proxy_factory: ProxyFactory, sandbox: SandboxHandle
) -> None:
    proxy = await proxy_factory(sandbox.base_url)
    answers = []
    for path, query in QUERIES.items():
        response = await proxy.client.get(path, params=query, headers=RUN_HEADERS)
        assert response.status_code == 200, response.text
        answers.append((path, query, response))
    documents = proxy.documents()
    assert [d["seq"] for d in documents] == [1, 2, 3, 4]
    for (path, query, response), document in zip(answers, documents, strict=True):
        assert int(response.headers["X-TicketTrak-Raw-Seq"]) == document["seq"]
        assert response.headers["X-Request-Id"] == document["request_id"]
        # The body the client received, byte for byte, is the JSON RAW holds.
        assert document["response"]["body_format"] == "json"
        assert json.loads(response.content) == document["response"]["body"] == body_json(document)
        assert document["response"]["status"] == 200
        assert document["endpoint"] == path
        assert document["request"]["query"] == query
        assert document["request_key"] == request_key(path, query)
        assert document["run_id"] == "test-run-1" and document["logical_date"] == LOGICAL_DATE
        # Sandbox mode: the logical date is the sandbox's as-of clock, and RAW says so.
        assert document["request"]["headers"]["x-sandbox-as-of"] == LOGICAL_DATE
        assert "x-access-token" not in document["request"]["headers"]
        timing = document["timing"]
        assert timing["requested_at"] <= timing["received_at"] and timing["duration_ms"] > 0
        assert document["schema_version"] == 1
    assert sandbox.stats()["total"] == 4
    # gzip is requested upstream, and a compressed answer is decoded before RAW and the client.
    assert all("gzip" in d["request"]["headers"]["accept-encoding"] for d in documents)
    gzipped = [d for d in documents if d["response"]["headers"].get("content-encoding") == "gzip"]
    assert gzipped, [d["response"]["headers"] for d in documents]


async def test_completed_lists_only_successful_keys(
    proxy_factory: ProxyFactory, sandbox: SandboxHandle
) -> None:
    proxy = await proxy_factory(sandbox.base_url)
    good_path = "/aviasales/v3/prices_for_dates"
    bad_path = "/v2/prices/month-matrix"
    assert (
        await proxy.client.get(good_path, params=QUERIES[good_path], headers=RUN_HEADERS)
    ).status_code == 200
    sandbox.set_faults(error_5xx=1.0)
    failed = await proxy.client.get(bad_path, params=QUERIES[bad_path], headers=RUN_HEADERS)
    assert failed.status_code == 502
    other_day = {**RUN_HEADERS, "X-TicketTrak-Logical-Date": "2026-11-21"}
    sandbox.set_faults()
    grouped = "/aviasales/v3/grouped_prices"
    assert (await proxy.client.get(grouped, params=QUERIES[grouped], headers=other_day)).status_code == 200

    answer = await proxy.client.get("/tickettrak/v1/completed", params={"logical_date": LOGICAL_DATE})
    assert answer.status_code == 200
    assert answer.json() == {
        "logical_date": LOGICAL_DATE,
        "request_keys": [request_key(good_path, QUERIES[good_path])],
    }
    assert len(proxy.documents()) == 3  # the failure is recorded too, just not "completed"
    bad = await proxy.client.get("/tickettrak/v1/completed", params={"logical_date": "2026-02-30"})
    assert bad.status_code == 422
    # Missing: the proxy's own error shape too, not FastAPI's `detail` list.
    missing = await proxy.client.get("/tickettrak/v1/completed")
    assert missing.status_code == 422 and "detail" not in missing.json(), missing.text
    assert missing.json()["error"] == "invalid_request" and "logical_date" in missing.json()["message"]
    assert missing.json()["errors"][0]["param"] == "logical_date"
    assert missing.headers["X-TicketTrak-Source"] == "proxy"
    assert missing.headers["X-Request-Id"] == missing.json()["request_id"]
    if proxy.reader.is_embedded:
        return
    indexes = proxy.reader.collection.index_information()
    assert indexes["seq_unique"]["unique"] is True
    assert indexes["logical_date_request_key"]["key"] == [("logical_date", 1), ("request_key", 1)]


INVALID: list[tuple[str, dict[str, str]]] = [
    ("/aviasales/v3/prices_for_dates", {"origin": "mow", "destination": "DXB"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOSC", "destination": "DXB"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOW", "departure_at": "2026-02-30"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOW", "limit": "0"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOW", "limit": "5000"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOW", "sorting": "cheapest"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOW", "destination": "DXB'; DROP TABLE tickets;--"}),
    ("/aviasales/v3/prices_for_dates", {"origin": "MOW", "departure_at": "<script>alert(1)</script>"}),
    ("/aviasales/v3/grouped_prices", {"origin": "MOW", "group_by": "$where"}),
    ("/aviasales/v3/get_latest_prices", {"origin": "MOW", "period_type": "week"}),
    ("/v2/prices/month-matrix", {"origin": "MOW", "month": "2026-00-01"}),
    ("/v2/prices/month-matrix", {"destination": "DXB"}),
]


async def test_invalid_inputs_never_reach_upstream_or_raw(
    proxy_factory: ProxyFactory, sandbox: SandboxHandle
) -> None:
    proxy = await proxy_factory(sandbox.base_url)
    for path, query in INVALID:
        response = await proxy.client.get(path, params=query, headers=RUN_HEADERS)
        assert response.status_code == 422, (path, query, response.text)
        payload = response.json()
        assert payload["error"] == "invalid_request" and payload["errors"], payload
        assert payload["errors"][0]["param"] in query or payload["errors"][0]["param"] == "origin"
    bad_header = await proxy.client.get(
        "/v2/prices/month-matrix", params={"origin": "MOW"}, headers={"X-TicketTrak-Logical-Date": "tomorrow"}
    )
    assert bad_header.status_code == 422 and "X-TicketTrak-Logical-Date" in bad_header.text
    assert sandbox.stats()["total"] == 0
    assert proxy.documents() == []


async def test_over_budget_requests_are_refused_locally(
    proxy_factory: ProxyFactory, sandbox: SandboxHandle
) -> None:
    proxy = await proxy_factory(sandbox.base_url, rate_limits={"grouped_prices": 3})
    path = "/aviasales/v3/grouped_prices"
    statuses = []
    for day in range(1, 7):
        query = {**QUERIES[path], "departure_at": f"2026-12-{day:02d}"}
        response = await proxy.client.get(path, params=query, headers=RUN_HEADERS)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert 50 <= int(response.headers["Retry-After"]) <= 60
            assert response.json()["error"] == "rate_limited"
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert sandbox.calls("grouped_prices") == 3
    assert len(proxy.documents()) == 3
    # Other endpoints keep their own budget.
    other = "/v2/prices/month-matrix"
    assert (await proxy.client.get(other, params=QUERIES[other])).status_code == 200
    metrics = (await proxy.client.get("/metrics")).text
    assert 'tickettrak_proxy_rejected_total{endpoint="grouped_prices",reason="rate_limited"} 3.0' in metrics


@pytest.mark.parametrize(
    ("faults", "client_status", "raw_status", "raw_format"),
    [
        ({"error_5xx": 1.0, "error_status": 500}, 500, 500, None),
        ({"rate_429": 1.0}, 429, 429, None),
        ({"malformed": 1.0}, 502, 200, "text"),
        ({"truncated": 1.0}, 502, 200, "text"),
    ],
    ids=["500", "429", "malformed", "truncated"],
)
async def test_upstream_failures_reach_the_client_and_raw(
    proxy_factory: ProxyFactory,
    sandbox: SandboxHandle,
    faults: dict[str, Any],
    client_status: int,
    raw_status: int,
    raw_format: str | None,
) -> None:
    proxy = await proxy_factory(sandbox.base_url)
    sandbox.set_faults(**faults)
    path = "/aviasales/v3/prices_for_dates"
    response = await proxy.client.get(path, params=QUERIES[path], headers=RUN_HEADERS)
    assert response.status_code == client_status, response.text
    [document] = proxy.documents()
    assert response.headers["X-TicketTrak-Raw-Seq"] == str(document["seq"])
    assert document["response"]["status"] == raw_status
    if raw_format is not None:
        assert document["response"]["body_format"] == raw_format
        assert response.json()["error"] == "upstream_malformed"
        assert f"RAW seq {document['seq']}" in response.json()["message"]
    else:  # passed on unchanged: the client sees what RAW holds
        assert response.headers["X-TicketTrak-Source"] == "upstream"
        stored = document["response"]
        held = (
            stored["body_text"]
            if stored["body_format"] in ("text", "json_text")
            else json.dumps(stored["body"])
        )
        assert (
            json.loads(held) == response.json() if stored["body_format"] == "json" else held == response.text
        )
    assert sandbox.calls("prices_for_dates") == 1  # no retry by the proxy
    if client_status == 429:
        # Upstream said 429: the proxy stops calling that endpoint for a while.
        sandbox.set_faults()
        again = await proxy.client.get(path, params=QUERIES[path], headers=RUN_HEADERS)
        assert again.status_code == 429 and again.json()["error"] == "rate_limited"
        assert sandbox.calls("prices_for_dates") == 1


async def test_upstream_timeout(proxy_factory: ProxyFactory, sandbox: SandboxHandle) -> None:
    proxy = await proxy_factory(sandbox.base_url, total_timeout_s=0.5)
    sandbox.set_faults(stall=1.0, stall_s=3, max_faults=1)
    path = "/v2/prices/month-matrix"
    response = await proxy.client.get(path, params=QUERIES[path], headers=RUN_HEADERS)
    assert response.status_code == 504 and response.json()["error"] == "upstream_timeout"
    [document] = proxy.documents()
    assert document["response"]["status"] is None and document["response"]["body_format"] == "none"
    assert "timeout" in document["response"]["error"]


async def test_upstream_unreachable(proxy_factory: ProxyFactory) -> None:
    from tests.support import free_port

    path = "/v2/prices/month-matrix"
    dead = await proxy_factory(f"http://127.0.0.1:{free_port()}")
    response = await dead.client.get(path, params=QUERIES[path])
    assert response.status_code == 502 and response.json()["error"] == "upstream_unreachable"
    error = dead.documents()[-1]["response"]["error"]
    assert error.startswith("ClientConnectorError") and "Cannot connect to host" in error, error
    ready = await dead.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["upstream"]["ok"] is False
