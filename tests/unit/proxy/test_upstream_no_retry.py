"""One proxied request is at most one upstream call: aiohttp's silent resend is switched off.

A real TCP server on localhost reads each request and hangs up before answering (what a server
closing a kept-alive connection, or crashing, looks like). aiohttp would resend a GET once on its
own; that second call would bypass the rate limiter and RAW. Also: repeated rate-limit headers keep
every value.
"""

from __future__ import annotations

import asyncio

from tickettrak.proxy.upstream import Exchange, Upstream


def _upstream(port: int) -> Upstream:
    return Upstream(
        f"http://127.0.0.1:{port}",
        token="tt-test-token",
        connect_timeout_s=2,
        read_timeout_s=2,
        total_timeout_s=5,
        max_connections=4,
        max_body_bytes=1 << 20,
    )


async def _exchange_with(handler: object) -> Exchange:
    """One upstream exchange against a localhost server running `handler` per connection."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    upstream = _upstream(server.sockets[0].getsockname()[1])
    try:
        return await upstream.exchange("/aviasales/v3/prices_for_dates", {"origin": "MOW"}, {})
    finally:
        await upstream.close()
        server.close()
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader) -> None:
    while (await reader.readline()) not in (b"\r\n", b""):
        pass


def test_a_dropped_connection_is_one_call_recorded_as_transport_error() -> None:
    async def scenario() -> tuple[int, str | None, int | None]:
        calls = 0

        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal calls
            await _read_request(reader)
            calls += 1
            writer.close()  # no status line: the request was received, never answered

        exchange = await _exchange_with(hang_up)
        return calls, exchange.error_kind, exchange.status

    calls, error_kind, status = asyncio.run(scenario())
    assert calls == 1
    assert error_kind == "transport"
    assert status is None


def test_repeated_rate_limit_headers_keep_every_value() -> None:
    async def scenario() -> dict[str, str]:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await _read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-RateLimit-Remaining: 5\r\n"
                b"X-RateLimit-Remaining: 4\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
            await writer.drain()
            writer.close()

        return (await _exchange_with(answer)).response_headers

    headers = asyncio.run(scenario())
    assert headers["x-ratelimit-remaining"] == "5, 4"
    assert headers["content-type"] == "application/json"
