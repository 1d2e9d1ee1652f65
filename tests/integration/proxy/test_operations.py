"""Operations: probes, metrics, OpenAPI, and the `tickettrak proxy` command as a real process."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.integration.proxy.conftest import QUERIES, RUN_HEADERS, ProxyFactory
from tests.support import free_port
from tickettrak.common.endpoints import BY_PATH

pytestmark = [pytest.mark.integration]


async def test_probes_metrics_and_openapi(proxy_factory: ProxyFactory, sandbox: SandboxHandle) -> None:
    proxy = await proxy_factory(sandbox.base_url)
    assert (await proxy.client.get("/healthz")).json() == {"status": "ok"}
    ready = await proxy.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["raw_store"]["ok"] and ready.json()["upstream"]["ok"]
    path = "/v2/prices/month-matrix"
    await proxy.client.get(path, params=QUERIES[path], headers=RUN_HEADERS)
    await proxy.client.get(path, params={"origin": "mow"})
    metrics = (await proxy.client.get("/metrics")).text
    assert 'tickettrak_proxy_requests_total{endpoint="month_matrix",status="200"} 1.0' in metrics
    assert 'tickettrak_proxy_requests_total{endpoint="month_matrix",status="422"} 1.0' in metrics
    assert 'tickettrak_proxy_rejected_total{endpoint="month_matrix",reason="invalid_request"} 1.0' in metrics
    assert 'tickettrak_proxy_upstream_seconds_count{endpoint="month_matrix",outcome="200"} 1.0' in metrics
    assert "tickettrak_proxy_raw_write_seconds_count 1.0" in metrics
    assert "tickettrak_proxy_raw_store_up 1.0" in metrics

    spec = (await proxy.client.get("/openapi.json")).json()
    for api_path in BY_PATH:
        parameters = {p["name"] for p in spec["paths"][api_path]["get"]["parameters"]}
        assert {"origin", "destination", "X-TicketTrak-Run-Id", "X-TicketTrak-Logical-Date"} <= parameters
        assert set(QUERIES[api_path]) <= parameters
    assert "/tickettrak/v1/completed" in spec["paths"]
    # Only GET: any other method on a Data API path is refused before anything is sent.
    for method in ("POST", "DELETE", "PUT"):
        refused = await proxy.client.request(method, path, params=QUERIES[path])
        assert refused.status_code == 405
        assert refused.headers["allow"] == "GET"
        assert refused.headers["x-tickettrak-source"] == "proxy"
        assert refused.json()["error"] == "method_not_allowed"
        assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert sandbox.stats()["total"] == 1


async def test_fastapi_route_answers_like_the_fast_path(
    proxy_factory: ProxyFactory, sandbox: SandboxHandle
) -> None:
    """A GET on a Data API path skips FastAPI's routing (`ProxyApp`); the documented FastAPI route
    for the same path must give the same answer when it is used."""
    proxy = await proxy_factory(sandbox.base_url)
    through_fastapi = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=functools.partial(FastAPI.__call__, proxy.app)),
        base_url="http://proxy",
    )
    path = "/aviasales/v3/prices_for_dates"
    async with through_fastapi:
        answers = [
            await client.get(path, params={**QUERIES[path], "token": "dropped"}, headers=RUN_HEADERS)
            for client in (proxy.client, through_fastapi)
        ]
        invalid = [
            await client.get(path, params={"origin": "mow"}, headers=RUN_HEADERS)
            for client in (proxy.client, through_fastapi)
        ]
    fast, routed = answers
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    for name in ("content-type", "content-length", "x-tickettrak-source"):
        assert fast.headers[name] == routed.headers[name], name
    seqs = [int(a.headers["X-TicketTrak-Raw-Seq"]) for a in answers]
    documents = proxy.documents()
    assert [d["seq"] for d in documents] == seqs
    assert documents[0]["request"] == documents[1]["request"]
    assert [a.status_code for a in invalid] == [422, 422]
    assert invalid[0].json()["errors"] == invalid[1].json()["errors"]
    assert sandbox.stats()["total"] == 2


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the proxy exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the proxy did not answer /healthz")


def test_cli_serves_logs_one_line_per_request_and_guards_the_embedded_store(
    sandbox_factory: SandboxFactory, tt_env: Path
) -> None:
    token = "tt-cli-Distinctive-51d2"
    sandbox = sandbox_factory(token=token)
    env = {
        **os.environ,
        "TICKETTRAK_HOME": str(tt_env),
        "TICKETTRAK_AVIASALES_BASE_URL": sandbox.base_url,
        "TICKETTRAK_AVIASALES_TOKEN": token,
        "TICKETTRAK_LOG_FORMAT": "json",
    }
    tickettrak = str(Path(sys.executable).with_name("tickettrak"))
    port = free_port()
    process = subprocess.Popen(
        [tickettrak, "proxy", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, process)
        path = "/aviasales/v3/get_latest_prices"
        answer = httpx.get(
            url + path, params={**QUERIES[path], "token": token}, headers=RUN_HEADERS, timeout=30
        )
        assert answer.status_code == 200 and answer.json()["success"] is True

        second = subprocess.run(
            [tickettrak, "proxy", "--port", str(free_port())],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert (
            "another process already writes to the embedded RAW store"
            in second.stderr.decode().splitlines()[-1]
        )
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    log = stderr.decode()
    assert token not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    [request_line] = [line for line in lines if line.get("event") == "proxy_request"]
    assert request_line["request_id"] == answer.headers["X-Request-Id"]
    assert request_line["status"] == 200 and request_line["raw_seq"] == 1
    assert "token" not in request_line["query"]
