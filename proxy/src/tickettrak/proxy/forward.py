"""One Data API path through the proxy: validate -> store up? -> budget -> upstream -> RAW -> answer.

A client never gets data that RAW does not hold. The hot path is plain ASGI (`Forwarder.asgi`,
dispatched by `ProxyApp` before FastAPI's routing and middleware stack, which measured as ~15% of
the proxy's CPU per request); FastAPI keeps the same routes for the OpenAPI docs and for any other
method, and its route endpoint (`Forwarder.route`) answers exactly the same.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response

from tickettrak.common.endpoints import BY_PATH, LOGICAL_DATE_HEADER, RUN_ID_HEADER
from tickettrak.common.query_params import (
    InvalidRequest,
    validate_logical_date,
    validate_query,
    validate_run_id,
)
from tickettrak.common.raw_store import RawStoreUnavailable
from tickettrak.proxy.records import build_document
from tickettrak.proxy.state import ProxyState

REQUEST_ID_HEADER = "X-Request-Id"
RAW_SEQ_HEADER = "X-TicketTrak-Raw-Seq"
SOURCE_HEADER = "X-TicketTrak-Source"  # "proxy" for the proxy's own errors, "upstream" otherwise
REDACTED_HEADER = "X-TicketTrak-Redacted"
SANDBOX_AS_OF_HEADER = "X-Sandbox-As-Of"
JSON_TYPE = "application/json"

_RUN_ID_KEY = RUN_ID_HEADER.lower().encode("latin-1")
_LOGICAL_DATE_KEY = LOGICAL_DATE_HEADER.lower().encode("latin-1")
_NO_LENGTH_STATUSES = frozenset({204, 304})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Upstream failures the client sees as the proxy's own 502/504 (the RAW document records them).
_UPSTREAM_ERRORS = {
    "timeout": (504, "upstream_timeout", "the Data API did not answer in time"),
    "transport": (502, "upstream_unreachable", "the Data API could not be reached"),
    "truncated": (502, "upstream_truncated", "the Data API's answer was cut off"),
    "too_large": (502, "upstream_body_too_large", "the Data API's answer is too large to record in RAW"),
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What the client gets: status, body, headers (rendered as ASGI or as a Starlette Response)."""

    status: int
    body: bytes
    headers: dict[str, str]
    media_type: str = JSON_TYPE

    def content_type(self) -> str:
        # As Starlette renders a media type: text/* without a charset gets utf-8.
        if self.media_type.startswith("text/") and "charset=" not in self.media_type.lower():
            return f"{self.media_type}; charset=utf-8"
        return self.media_type

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        raw = [(b"content-type", self.content_type().encode("latin-1"))]
        if self.status not in _NO_LENGTH_STATUSES:
            raw.append((b"content-length", str(len(self.body)).encode("latin-1")))
        raw.extend((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items())
        return raw

    def response(self) -> Response:
        return Response(self.body, status_code=self.status, media_type=self.media_type, headers=self.headers)


CANCELLED_STATUS = 499  # a request that ended without an answer (metrics and log line only)


def _sendable(value: str | None) -> str | None:
    """An upstream header value fit for the client's answer, else None (RAW keeps the original).
    HTTP/1.1 header values are latin-1 without control characters; anything else would fail while
    the answer is being sent — after the request was counted as answered."""
    if not value:
        return None
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return None
    return None if any((c < " " and c != "\t") or c == "\x7f" for c in value) else value


def json_answer(status: int, payload: dict[str, Any], headers: dict[str, str]) -> Answer:
    return Answer(status, json.dumps(payload).encode(), headers)


def problem(status: int, error: str, message: str, request_id: str, **extra_headers: str) -> Answer:
    """An error the proxy itself answers (never an upstream body)."""
    headers = {REQUEST_ID_HEADER: request_id, SOURCE_HEADER: "proxy", **extra_headers}
    return json_answer(status, {"error": error, "message": message, "request_id": request_id}, headers)


async def ensure_store_up(state: ProxyState) -> str | None:
    """None when the RAW store is usable; else why not. Pings only after a failure was seen."""
    if state.store_down is None:
        return None
    assert state.store is not None
    try:
        await asyncio.to_thread(state.store.ping, state.config.raw_ping_timeout_s)
        if not state.store.ready:  # down since the start: indexes and the upstream check first,
            await asyncio.to_thread(state.store.ensure_indexes)  # before any call goes upstream
    except RawStoreUnavailable as error:
        state.store_down = str(error)
        state.metrics.raw_store_up.set(0)
        return state.store_down
    state.store_down = None
    state.metrics.raw_store_up.set(1)
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class Forwarder:
    """Handles one Data API path."""

    def __init__(self, state: ProxyState, path: str) -> None:
        self.state = state
        self.path = path
        self.endpoint = BY_PATH[path].name

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The hot path: a GET on this path straight from the server (what Starlette would parse)."""
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        run_id: str | None = None
        logical_date: str | None = None
        for name, value in scope["headers"]:
            name = name.lower()
            if name == _RUN_ID_KEY and run_id is None:
                run_id = value.decode("latin-1")
            elif name == _LOGICAL_DATE_KEY and logical_date is None:
                logical_date = value.decode("latin-1")
        answer, line = await self.answer(query, run_id, logical_date)
        try:
            await send(
                {"type": "http.response.start", "status": answer.status, "headers": answer.asgi_headers()}
            )
            await send({"type": "http.response.body", "body": answer.body})
        finally:
            # The log line after the answer went out: it is not the client's latency.
            self.log_line(line, answer.status, scope.get("method", "GET"))

    async def route(self, request: Request) -> Response:
        """The FastAPI route endpoint (documented in OpenAPI); same answer as the ASGI path."""
        answer, line = await self.answer(
            request.query_params.multi_items(),
            request.headers.get(RUN_ID_HEADER),
            request.headers.get(LOGICAL_DATE_HEADER),
        )
        self.log_line(line, answer.status, request.method)
        return answer.response()

    async def answer(
        self, items: Sequence[tuple[str, str]], run_header: str | None, date_header: str | None
    ) -> tuple[Answer, dict[str, Any]]:
        """The answer, and the request's log line (the caller writes it with `log_line`)."""
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        line: dict[str, Any] = {"request_id": request_id, "endpoint": self.endpoint}
        try:
            answer = await self._handle(items, run_header, date_header, request_id, line)
        except asyncio.CancelledError:
            # The client went away or the proxy is shutting down: still one line and one count
            # for the request, as 499 ("client closed request", nginx's code: no answer was sent).
            line["outcome"] = "cancelled"
            self.state.metrics.count_request(self.endpoint, CANCELLED_STATUS)
            self.log_line(line, CANCELLED_STATUS, "GET")
            raise
        except Exception:
            # Never a bare 500 without a reason (and never a traceback with data in the answer).
            line["outcome"] = "internal_error"
            self.state.log.exception("proxy_internal_error", request_id=request_id, endpoint=self.endpoint)
            message = "the proxy failed on this request; see its log"
            answer = problem(500, "internal_error", message, request_id)
        self.state.metrics.count_request(self.endpoint, answer.status)
        line["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        return answer, line

    def log_line(self, line: dict[str, Any], status: int, method: str) -> None:
        """The one structured line per request (request id = RAW `request_id` = `X-Request-Id`)."""
        self.state.log.info("proxy_request", method=method, path=self.path, status=status, **line)

    def _reject(self, reason: str, line: dict[str, Any]) -> None:
        line["outcome"] = reason
        self.state.metrics.count_rejected(self.endpoint, reason)

    async def _handle(
        self,
        items: Sequence[tuple[str, str]],
        run_header: str | None,
        date_header: str | None,
        request_id: str,
        line: dict[str, Any],
    ) -> Answer:
        state = self.state
        try:
            query = validate_query(self.path, items)
            run_id = validate_run_id(run_header, RUN_ID_HEADER)
            logical_date = validate_logical_date(date_header, LOGICAL_DATE_HEADER)
        except InvalidRequest as invalid:
            self._reject("invalid_request", line)
            line["errors"] = state.scrubber.text(str(invalid))
            headers = {REQUEST_ID_HEADER: request_id, SOURCE_HEADER: "proxy"}
            payload = {
                "error": "invalid_request",
                "message": state.scrubber.text(str(invalid)),
                "errors": [{"param": p, "message": state.scrubber.text(m)} for p, m in invalid.errors],
                "request_id": request_id,
            }
            return json_answer(422, payload, headers)
        line.update(query=query, run_id=run_id, logical_date=logical_date)

        if (down := await ensure_store_up(state)) is not None:
            self._reject("raw_unavailable", line)
            return problem(
                503,
                "raw_store_unavailable",
                f"RAW store unavailable, nothing sent upstream: {down}",
                request_id,
            )

        limiter = state.limiters[self.path]
        if (wait := limiter.try_acquire()) is not None:
            self._reject("rate_limited", line)
            retry_after = str(max(1, math.ceil(wait)))
            message = (
                f"over this proxy's budget for {self.endpoint} "
                f"({limiter.per_window} requests per minute); retry in {retry_after} s"
            )
            return problem(429, "rate_limited", message, request_id, **{"Retry-After": retry_after})

        extra_headers: dict[str, str] = {}
        if state.settings.uses_sandbox and logical_date is not None:
            extra_headers[SANDBOX_AS_OF_HEADER] = logical_date
        assert state.upstream is not None and state.writer is not None
        exchange = await state.upstream.exchange(self.path, query, extra_headers)
        outcome = exchange.error_kind or str(exchange.status)
        state.metrics.observe_upstream(self.endpoint, outcome, exchange.duration_ms / 1000)
        line.update(upstream_status=exchange.status, upstream_ms=exchange.duration_ms, outcome=outcome)
        if exchange.status == 429:
            retry = _seconds(exchange.response_headers.get("retry-after"))
            limiter.block_for(retry if retry is not None else state.config.upstream_429_cooldown_s)

        recorded = build_document(
            exchange,
            request_id=request_id,
            run_id=run_id,
            logical_date=logical_date,
            path=self.path,
            query=query,
            scrubber=state.scrubber,
        )
        write_started = time.perf_counter()
        try:
            seq = await state.writer.write(recorded.document)
        except RawStoreUnavailable as error:
            state.store_down = str(error)
            line["outcome"] = "raw_unavailable"
            state.metrics.count_rejected(self.endpoint, "raw_unavailable")
            message = f"RAW store unavailable, the upstream answer was not returned: {error}"
            return problem(503, "raw_store_unavailable", message, request_id)
        line.update(raw_seq=seq, raw_write_ms=round((time.perf_counter() - write_started) * 1000, 3))
        if recorded.redacted:
            line["redacted"] = True

        headers = {REQUEST_ID_HEADER: request_id, RAW_SEQ_HEADER: str(seq)}
        if exchange.error_kind is not None:
            status, error_code, text = _UPSTREAM_ERRORS[exchange.error_kind]
            detail = recorded.document["response"]["error"]
            return problem(
                status, error_code, f"{text} ({detail}); recorded in RAW seq {seq}", request_id, **headers
            )
        if exchange.status == 200 and recorded.stored.body_format in ("text", "empty"):
            what = "a body that is not JSON" if recorded.stored.body_format == "text" else "an empty body"
            message = f"the Data API answered 200 with {what}; recorded in RAW seq {seq}"
            return problem(502, "upstream_malformed", message, request_id, **headers)
        headers[SOURCE_HEADER] = "upstream"
        if recorded.redacted:
            headers[REDACTED_HEADER] = "token"
        # From the RAW document's copy of the headers: scrubbed, should the upstream echo the token.
        recorded_headers = recorded.document["response"]["headers"]
        if retry_after_header := _sendable(recorded_headers.get("retry-after")):
            headers["Retry-After"] = retry_after_header
        assert exchange.status is not None
        media_type = _sendable(recorded_headers.get("content-type")) or JSON_TYPE
        return Answer(exchange.status, recorded.content or b"", headers, media_type)
