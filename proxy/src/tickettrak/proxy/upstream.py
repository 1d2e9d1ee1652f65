"""One exchange with the upstream Data API (or the sandbox), captured whatever happens.

Never raises for an upstream problem: a timeout, a refused connection, a truncated or oversized
body all come back as an `Exchange` with `error` set, because each of them is recorded in RAW.
No retries here: the caller (the collector) decides, with its own budget.

The client is aiohttp (C HTTP parser, kept-alive pool): measured against the sandbox it costs
~0.15 ms CPU per exchange where httpx cost ~1.8 ms, which was most of the proxy's CPU per request.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from tickettrak.common.endpoints import TOKEN_HEADER

USER_AGENT = "tickettrak-proxy/0.1"
# Sent with every upstream request (gzip requested: the API's answers compress ~10x).
DEFAULT_HEADERS = {
    "Accept-Encoding": "gzip, deflate",
    "Accept": "application/json",
    "User-Agent": USER_AGENT,
}

# Response headers worth keeping in RAW (lower-case); everything else is left out.
RECORDED_RESPONSE_HEADERS = frozenset(
    {
        "content-type",
        "content-encoding",
        "content-length",
        "date",
        "retry-after",
        "cache-control",
        "age",
        "etag",
        "last-modified",
        "server",
        "x-request-id",
        "x-sandbox-as-of",
    }
)
RATE_LIMIT_HEADER_PREFIXES = ("x-rate-limit", "x-ratelimit", "ratelimit")


@dataclass
class Exchange:
    url: str  # the upstream URL as sent (never carries a token: the token travels in a header)
    request_headers: dict[str, str]  # as sent, without the token header
    status: int | None
    response_headers: dict[str, str]
    content: bytes | None  # decoded (gunzipped) body; partial when error_kind == "truncated"
    charset: str | None
    error_kind: str | None  # None, "timeout", "transport", "truncated", "too_large"
    error: str | None
    requested_at: datetime
    received_at: datetime
    duration_ms: float


def _recorded(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name in headers:
        lower = name.lower()
        if lower not in kept and (
            lower in RECORDED_RESPONSE_HEADERS or lower.startswith(RATE_LIMIT_HEADER_PREFIXES)
        ):
            kept[lower] = ", ".join(headers.getall(name))  # a repeated header keeps every value
    return kept


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


KEEPALIVE_S = 4.0

_URL_SAFE = re.compile(r"[A-Za-z0-9_.~-]*")


def query_string(query: dict[str, str]) -> str:
    """`urlencode(query)`, without its per-character quoting when nothing needs quoting.

    Validated Data API parameters are letters, digits and `-` (codes, dates, numbers, enums), which
    `urlencode` leaves as they are; it cost ~40 us per request to find that out.
    """
    if _URL_SAFE.fullmatch("".join(query) + "".join(query.values())):
        return "&".join(f"{name}={value}" for name, value in query.items())
    return urlencode(query)


class Upstream:
    """The Data API behind one kept-alive connection pool, with explicit timeouts, no retries.

    Create it inside the running event loop (aiohttp binds the session to it); `close()` at the end.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        total_timeout_s: float,
        max_connections: int,
        max_body_bytes: int,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._total_timeout_s = total_timeout_s
        self._max_body_bytes = max_body_bytes
        self._connect_timeout_s = connect_timeout_s
        self.session = aiohttp.ClientSession(
            headers=DEFAULT_HEADERS,
            # sock_connect: the TCP (and TLS) handshake; sock_read: the longest silence while
            # reading; the whole exchange is bounded by total_timeout_s in `exchange`.
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=connect_timeout_s, sock_read=read_timeout_s
            ),
            # Idle connections are dropped before a typical server's keep-alive (uvicorn: 5 s) ends,
            # so a request is rarely sent on a connection the server is closing.
            connector=aiohttp.TCPConnector(
                limit=max_connections, limit_per_host=max_connections, keepalive_timeout=KEEPALIVE_S
            ),
            # A proxy for many clients must not carry one client's cookies into another's call.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=True,
            raise_for_status=False,
        )
        # aiohttp resends an idempotent request once when the connection drops before the status
        # line (RFC 9112 allows it). Here that would be a second upstream call behind the rate
        # limiter's back and outside RAW: the drop is recorded instead, and the caller decides.
        # No public setting exists for it (aiohttp 3.14); tests/unit/proxy/test_upstream_no_retry.py
        # fails if this ever stops working.
        self.session._retry_connection = False

    async def close(self) -> None:
        await self.session.close()

    async def probe(self, timeout_s: float) -> None:
        """Any HTTP answer from the upstream's root proves it reachable (no token: no budget spent)."""
        timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(timeout_s, self._connect_timeout_s))
        async with self.session.get(
            URL(self.base_url + "/", encoded=True), timeout=timeout, allow_redirects=False
        ) as response:
            await response.read()

    async def exchange(self, path: str, query: dict[str, str], extra_headers: dict[str, str]) -> Exchange:
        url = self.base_url + path + ("?" + query_string(query) if query else "")
        # What is recorded as sent: the session's headers and this call's, never the token (it is
        # added to the copy that goes on the wire).
        sent_headers = {k.lower(): v for k, v in DEFAULT_HEADERS.items()}
        sent_headers.update((k.lower(), v) for k, v in extra_headers.items())
        sent_headers.pop(TOKEN_HEADER.lower(), None)
        wire_headers = {**extra_headers, TOKEN_HEADER: self._token}
        requested_at = datetime.now(UTC)
        started = time.perf_counter()
        status: int | None = None
        headers: dict[str, str] = {}
        charset: str | None = None
        chunks: list[bytes] = []
        error_kind: str | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self._total_timeout_s):
                async with self.session.get(
                    URL(url, encoded=True), headers=wire_headers, allow_redirects=False
                ) as response:
                    status, headers, charset = response.status, _recorded(response.headers), response.charset
                    size = 0
                    async for chunk in response.content.iter_any():
                        size += len(chunk)
                        if size > self._max_body_bytes:
                            error_kind = "too_large"
                            error = (
                                f"upstream body larger than {self._max_body_bytes} bytes: "
                                "too large to record in RAW"
                            )
                            response.close()  # drop the connection: the rest of the body is unread
                            break
                        chunks.append(chunk)
        except TimeoutError as caught:  # asyncio's deadline and aiohttp's socket timeouts alike
            error_kind, error = "timeout", f"no complete answer within the timeout ({_describe(caught)})"
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as caught:
            # The status line came, the body did not (or not whole, or not decodable): truncated.
            error_kind = "truncated" if status is not None else "transport"
            error = _describe(caught)
        except aiohttp.ClientError as caught:
            error_kind, error = "transport", _describe(caught)
        received_at = datetime.now(UTC)
        content = None if error_kind == "too_large" or status is None else b"".join(chunks)
        return Exchange(
            url=url,
            request_headers=sent_headers,
            status=status,
            response_headers=headers,
            content=content,
            charset=charset,
            error_kind=error_kind,
            error=error,
            requested_at=requested_at,
            received_at=received_at,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
