"""The proxy's answer when upstream is odd: header values a client cannot be sent (not latin-1,
control characters) are dropped from the answer — which still goes out whole — and RAW keeps them
as they came; a request cancelled while upstream stalls is still counted (status 499)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.integration.proxy.conftest import QUERIES, RUN_HEADERS, ProxyFactory

pytestmark = [pytest.mark.integration]

PATH = "/aviasales/v3/prices_for_dates"
BODY = json.dumps({"success": False, "error": "rate limit exceeded"}).encode()


async def _upstream(status_line: bytes, headers: list[bytes]) -> asyncio.Server:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        head = [status_line, *headers, b"Content-Length: %d" % len(BODY), b"Connection: close"]
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + BODY)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(answer, "127.0.0.1", 0)


@pytest.mark.parametrize(
    ("retry_after", "content_type", "sent_retry_after", "sent_type"),
    [
        ("30 \u20ac".encode(), "application/json; x=\u20ac".encode(), None, "application/json"),
        (b"30", b"application/json; charset=utf-8", "30", "application/json; charset=utf-8"),
    ],
    ids=["not-latin-1", "ordinary"],
)
async def test_unsendable_upstream_header_values_are_dropped_from_the_answer(
    proxy_factory: ProxyFactory,
    retry_after: bytes,
    content_type: bytes,
    sent_retry_after: str | None,
    sent_type: str,
) -> None:
    server = await _upstream(
        b"HTTP/1.1 429 Too Many Requests", [b"Retry-After: " + retry_after, b"Content-Type: " + content_type]
    )
    try:
        port = server.sockets[0].getsockname()[1]
        proxy = await proxy_factory(f"http://127.0.0.1:{port}")
        response = await proxy.client.get(PATH, params=QUERIES[PATH], headers=RUN_HEADERS)
    finally:
        server.close()
        await server.wait_closed()
    assert response.status_code == 429
    assert response.json() == json.loads(BODY)
    assert response.headers.get("retry-after") == sent_retry_after
    assert response.headers["content-type"] == sent_type
    [document] = proxy.documents()
    recorded = document["response"]["headers"]
    assert recorded["retry-after"].encode("utf-8", "surrogateescape") == retry_after
    assert recorded["content-type"].encode("utf-8", "surrogateescape") == content_type


async def test_a_request_cancelled_while_upstream_is_slow_is_counted_and_logged(
    proxy_factory: ProxyFactory,
) -> None:
    """A client that gives up (or a shutdown) mid-request: one count under status 499 in
    tickettrak_proxy_requests, as the request's log line says, not a silent gap in the metrics."""
    arrived = asyncio.Event()

    async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        arrived.set()
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(never_answers, "127.0.0.1", 0)
    try:
        proxy = await proxy_factory(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        request = asyncio.create_task(proxy.client.get(PATH, params=QUERIES[PATH], headers=RUN_HEADERS))
        await asyncio.wait_for(arrived.wait(), timeout=10)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
    finally:
        server.close()
        await server.wait_closed()
    registry = proxy.state.metrics.registry
    labels = {"endpoint": "prices_for_dates", "status": "499"}
    assert registry.get_sample_value("tickettrak_proxy_requests_total", labels) == 1.0
