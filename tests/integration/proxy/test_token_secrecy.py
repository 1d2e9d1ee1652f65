"""The token is nowhere in RAW, in the logs or in answers — also when the upstream echoes it back."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from bson import json_util
from fastapi import FastAPI, Request, Response

from tests.fixtures.sandbox import SandboxFactory
from tests.integration.proxy.conftest import QUERIES, RUN_HEADERS, ProxyFactory
from tickettrak.common.logs import configure_logging

pytestmark = [pytest.mark.integration]

TOKEN = "tt-Distinctive-7f3c9a/x+y"


def _assert_no_token(where: str, text: str) -> None:
    for form in (TOKEN, quote(TOKEN, safe=""), "Distinctive-7f3c9a"):
        assert form not in text, f"the token ({form}) leaked into {where}"


def _echo_app() -> FastAPI:
    """An upstream that misbehaves on purpose: it repeats the token it was sent, in many ways."""
    app = FastAPI()

    @app.get("/{path:path}")
    async def echo(path: str, request: Request) -> Response:
        token = request.headers.get("x-access-token", "")
        url = f"{request.url}&token={quote(token, safe='')}"
        mode = request.query_params.get("origin")
        headers = {"X-Request-Id": token, "X-Debug-Token": token}
        if mode == "ERR":
            return Response(f"invalid token {token} for {url}", status_code=500, headers=headers)
        if mode == "ESC":
            escaped = "".join(f"\\u{ord(c):04x}" for c in token)
            return Response(
                '{"success": true, "data": [], "who": "' + escaped + '"}', media_type="application/json"
            )
        body = {"success": True, "data": [{"link": url}], "debug": {"token": token, "url": url}}
        return Response(json.dumps(body), media_type="application/json", headers=headers)

    return app


@pytest.fixture
def echo_upstream() -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(_echo_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


async def test_token_absent_from_raw_logs_and_answers(
    proxy_factory: ProxyFactory,
    sandbox_factory: SandboxFactory,
    echo_upstream: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "INFO")
    sandbox = sandbox_factory(token=TOKEN)
    proxy = await proxy_factory(sandbox.base_url, token=TOKEN)
    answers: list[Any] = []
    for path, query in QUERIES.items():
        # A client that speaks the real API may send a token: it is dropped, never stored.
        answers.append(
            await proxy.client.get(
                path, params={**query, "token": TOKEN}, headers={**RUN_HEADERS, "X-Access-Token": TOKEN}
            )
        )
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    for faults in ({"error_5xx": 1.0}, {"malformed": 1.0}, {"rate_429": 1.0}):
        sandbox.set_faults(**faults)
        path = "/v2/prices/month-matrix"
        answers.append(await proxy.client.get(path, params={**QUERIES[path], "month": "2026-11-01"}))
    assert sandbox.stats()["by_token"] == {
        "sha256:" + __import__("hashlib").sha256(TOKEN.encode()).hexdigest()[:8]: 7
    }

    documents = proxy.documents()
    assert len(documents) == 7
    _assert_no_token("RAW documents", json_util.dumps(documents))
    for answer in answers:
        _assert_no_token("an answer", answer.text + json.dumps(dict(answer.headers)))
    logs = capsys.readouterr().err
    assert logs.count('"event": "proxy_request"') == 7
    _assert_no_token("the logs", logs)


async def test_token_echoed_by_upstream_is_scrubbed_everywhere(
    proxy_factory: ProxyFactory, echo_upstream: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", "INFO")
    proxy = await proxy_factory(echo_upstream, token=TOKEN)
    path = "/aviasales/v3/prices_for_dates"
    echoed = await proxy.client.get(path, params={"origin": "ECH"})
    escaped = await proxy.client.get(path, params={"origin": "ESC"})
    failed = await proxy.client.get(path, params={"origin": "ERR"})
    assert (echoed.status_code, escaped.status_code, failed.status_code) == (200, 200, 500)

    documents = proxy.documents()
    _assert_no_token("RAW documents", json_util.dumps(documents))
    for answer in (echoed, escaped, failed):
        _assert_no_token("an answer", answer.text + json.dumps(dict(answer.headers)))
    _assert_no_token("the logs", capsys.readouterr().err)

    # The token wins over "unchanged", and the client still gets exactly what RAW holds.
    first, second, third = documents
    assert first["response"]["redacted"] is True and echoed.headers["X-TicketTrak-Redacted"] == "token"
    assert first["response"]["body"] == echoed.json()
    assert first["response"]["body"]["debug"]["token"] == "***"
    assert second["response"]["body"] == escaped.json() == {"success": True, "data": [], "who": "***"}
    assert third["response"]["body_text"] == failed.text and third["response"]["redacted"] is True
    assert first["response"]["headers"]["x-request-id"] == "***"
    assert "x-debug-token" not in first["response"]["headers"]
