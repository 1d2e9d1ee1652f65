"""One exchange with the upstream Data API (or the sandbox), captured whatever happens.

Never raises for an upstream problem: a timeout, a refused connection, a truncated or oversized
body all come back as an `Exchange` with `error` set, because each of them is recorded in RAW.
No retries here: the caller (the collector) decides, with its own budget.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from tickettrak.common.endpoints import TOKEN_HEADER

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


def _recorded(headers: httpx.Headers) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower in RECORDED_RESPONSE_HEADERS or lower.startswith(RATE_LIMIT_HEADER_PREFIXES):
            kept[lower] = value
    return kept


def _describe(error: Exception) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def exchange(
    client: httpx.AsyncClient,
    path: str,
    query: dict[str, str],
    *,
    token: str,
    extra_headers: dict[str, str],
    max_body_bytes: int,
    total_timeout_s: float,
) -> Exchange:
    request = client.build_request("GET", path, params=list(query.items()), headers=extra_headers)
    sent_headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != TOKEN_HEADER.lower()}
    sent_headers.pop("host", None)
    # Added after the copy above, so the token can never reach the recorded headers.
    request.headers[TOKEN_HEADER] = token
    url = str(request.url)
    requested_at = datetime.now(UTC)
    started = time.perf_counter()
    status: int | None = None
    headers: dict[str, str] = {}
    charset: str | None = None
    chunks: list[bytes] = []
    error_kind: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(total_timeout_s):
            response = await client.send(request, stream=True)
            try:
                status, headers, charset = (
                    response.status_code,
                    _recorded(response.headers),
                    response.charset_encoding,
                )
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_body_bytes:
                        error_kind = "too_large"
                        error = (
                            f"upstream body larger than {max_body_bytes} bytes: too large to record in RAW"
                        )
                        break
                    chunks.append(chunk)
            finally:
                await response.aclose()
    except (TimeoutError, httpx.TimeoutException) as caught:
        error_kind, error = "timeout", f"no complete answer within the timeout ({_describe(caught)})"
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError) as caught:
        # The status line came, the body did not (or not whole): a truncated answer.
        error_kind = "truncated" if status is not None else "transport"
        error = _describe(caught)
    except httpx.HTTPError as caught:
        error_kind, error = "transport", _describe(caught)
    received_at = datetime.now(UTC)
    content: bytes | None
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
