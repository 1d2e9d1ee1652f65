"""The FastAPI proxy: the Data API's own paths, validated, rate limited, token added, logged in RAW.

Order of a request: validate (422) -> RAW store known down? (503) -> budget (429) -> upstream ->
RAW document written and acknowledged (else 503) -> the client gets the upstream answer. A client
never gets data that RAW does not hold.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from tickettrak.common.endpoints import BY_PATH, LOGICAL_DATE_HEADER, RUN_ID_HEADER
from tickettrak.common.logs import get_logger, register_secrets
from tickettrak.common.raw_store import RawStore, RawStoreUnavailable
from tickettrak.common.settings import Settings, get_settings
from tickettrak.proxy.config import ProxySettings
from tickettrak.proxy.metrics import ProxyMetrics
from tickettrak.proxy.params import (
    PARAMS,
    InvalidRequest,
    validate_logical_date,
    validate_query,
    validate_run_id,
)
from tickettrak.proxy.ratelimit import SlidingWindowLimiter
from tickettrak.proxy.records import build_document
from tickettrak.proxy.scrub import TokenScrubber
from tickettrak.proxy.upstream import Upstream
from tickettrak.proxy.writer import RawWriter

COMPLETED_PATH = "/tickettrak/v1/completed"
REQUEST_ID_HEADER = "X-Request-Id"
RAW_SEQ_HEADER = "X-TicketTrak-Raw-Seq"
SOURCE_HEADER = "X-TicketTrak-Source"  # "proxy" for the proxy's own errors, "upstream" otherwise
REDACTED_HEADER = "X-TicketTrak-Redacted"
SANDBOX_AS_OF_HEADER = "X-Sandbox-As-Of"


class CompletedKeys(BaseModel):
    logical_date: str
    request_keys: list[str]


@dataclass
class ProxyState:
    settings: Settings
    config: ProxySettings
    metrics: ProxyMetrics
    scrubber: TokenScrubber
    limiters: dict[str, SlidingWindowLimiter]
    store: RawStore | None = None
    writer: RawWriter | None = None
    upstream: Upstream | None = None
    store_down: str | None = None  # why the last RAW operation failed; None when healthy
    log: Any = field(default_factory=lambda: get_logger("tickettrak.proxy"))


def _json(status: int, payload: dict[str, Any], headers: dict[str, str]) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json", headers=headers)


def problem(status: int, error: str, message: str, request_id: str, **extra_headers: str) -> Response:
    """An error the proxy itself answers (never an upstream body)."""
    headers = {REQUEST_ID_HEADER: request_id, SOURCE_HEADER: "proxy", **extra_headers}
    return _json(status, {"error": error, "message": message, "request_id": request_id}, headers)


# Upstream failures the client sees as the proxy's own 502/504 (the RAW document records them).
_UPSTREAM_ERRORS = {
    "timeout": (504, "upstream_timeout", "the Data API did not answer in time"),
    "transport": (502, "upstream_unreachable", "the Data API could not be reached"),
    "truncated": (502, "upstream_truncated", "the Data API's answer was cut off"),
    "too_large": (502, "upstream_body_too_large", "the Data API's answer is too large to record in RAW"),
}


class Forwarder:
    """Handles one Data API path."""

    def __init__(self, state: ProxyState, path: str) -> None:
        self.state = state
        self.path = path
        self.endpoint = BY_PATH[path].name

    async def __call__(self, request: Request) -> Response:
        request_id = uuid.uuid4().hex
        started = time.perf_counter()
        line: dict[str, Any] = {"request_id": request_id, "endpoint": self.endpoint}
        response: Response | None = None
        try:
            response = await self._handle(request, request_id, line)
            return response
        finally:
            status = response.status_code if response is not None else 500
            self.state.metrics.requests.labels(self.endpoint, str(status)).inc()
            line["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            self.state.log.info("proxy_request", method=request.method, path=self.path, status=status, **line)

    def _reject(self, reason: str, line: dict[str, Any]) -> None:
        line["outcome"] = reason
        self.state.metrics.rejected.labels(self.endpoint, reason).inc()

    async def _handle(self, request: Request, request_id: str, line: dict[str, Any]) -> Response:
        state = self.state
        try:
            query = validate_query(self.path, request.query_params.multi_items())
            run_id = validate_run_id(request.headers.get(RUN_ID_HEADER), RUN_ID_HEADER)
            logical_date = validate_logical_date(
                request.headers.get(LOGICAL_DATE_HEADER), LOGICAL_DATE_HEADER
            )
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
            return _json(422, payload, headers)
        line.update(query=query, run_id=run_id, logical_date=logical_date)

        if (down := await ensure_store_up(state)) is not None:
            self._reject("raw_unavailable", line)
            return problem(
                503,
                "raw_store_unavailable",
                f"RAW store unavailable, nothing sent upstream: {down}",
                request_id,
            )

        if (wait := state.limiters[self.path].try_acquire()) is not None:
            self._reject("rate_limited", line)
            retry_after = str(max(1, math.ceil(wait)))
            message = (
                f"over this proxy's budget for {self.endpoint} "
                f"({state.limiters[self.path].per_window} requests per minute); retry in {retry_after} s"
            )
            return problem(429, "rate_limited", message, request_id, **{"Retry-After": retry_after})

        extra_headers: dict[str, str] = {}
        if state.settings.uses_sandbox and logical_date is not None:
            extra_headers[SANDBOX_AS_OF_HEADER] = logical_date
        assert state.upstream is not None and state.writer is not None
        exchange = await state.upstream.exchange(self.path, query, extra_headers)
        outcome = exchange.error_kind or str(exchange.status)
        state.metrics.upstream_seconds.labels(self.endpoint, outcome).observe(exchange.duration_ms / 1000)
        line.update(upstream_status=exchange.status, upstream_ms=exchange.duration_ms, outcome=outcome)
        if exchange.status == 429:
            retry = _seconds(exchange.response_headers.get("retry-after"))
            state.limiters[self.path].block_for(
                retry if retry is not None else state.config.upstream_429_cooldown_s
            )

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
            state.metrics.rejected.labels(self.endpoint, "raw_unavailable").inc()
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
        if retry_after_header := exchange.response_headers.get("retry-after"):
            headers["Retry-After"] = retry_after_header
        assert exchange.status is not None
        return Response(
            recorded.content or b"",
            status_code=exchange.status,
            media_type=exchange.response_headers.get("content-type", "application/json"),
            headers=headers,
        )


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


async def ensure_store_up(state: ProxyState) -> str | None:
    """None when the RAW store is usable; else why not. Pings only after a failure was seen."""
    if state.store_down is None:
        return None
    assert state.store is not None
    try:
        await asyncio.to_thread(state.store.ping, state.config.raw_ping_timeout_s)
    except RawStoreUnavailable as error:
        state.store_down = str(error)
        state.metrics.raw_store_up.set(0)
        return state.store_down
    state.store_down = None
    state.metrics.raw_store_up.set(1)
    return None


def _openapi_parameters(path: str) -> list[dict[str, Any]]:
    headers = [
        {
            "name": RUN_ID_HEADER,
            "in": "header",
            "required": False,
            "description": "the collection run that asks (stored in RAW)",
            "schema": {"type": "string"},
        },
        {
            "name": LOGICAL_DATE_HEADER,
            "in": "header",
            "required": False,
            "description": "the run's logical date, YYYY-MM-DD (stored in RAW; the sandbox's as-of date)",
            "schema": {"type": "string", "format": "date"},
        },
    ]
    return [p.openapi() for p in PARAMS[path].params] + headers


def open_store(settings: Settings, config: ProxySettings) -> RawStore:
    """The proxy's RAW store handle (raises `RawStoreUnavailable` if another proxy holds the embedded one)."""
    return RawStore.open(
        settings, writer=True, server_selection_timeout_ms=3000, write_timeout_s=config.raw_write_timeout_s
    )


def create_app(
    settings: Settings | None = None, config: ProxySettings | None = None, store: RawStore | None = None
) -> FastAPI:
    """The proxy app. `store`: an already opened RAW store (the CLI opens it first, to fail early)."""
    settings = settings or get_settings()
    config = config or ProxySettings()
    given_store = store
    secrets = [settings.upstream_token, *settings.secret_values()]
    register_secrets(secrets)  # logs: the last line of defence (tickettrak.common.logs)
    state = ProxyState(
        settings=settings,
        config=config,
        metrics=ProxyMetrics(),
        scrubber=TokenScrubber(secrets),
        limiters={path: SlidingWindowLimiter(config.per_minute(BY_PATH[path].name)) for path in PARAMS},
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = given_store or open_store(settings, config)
        state.store = opened
        try:
            await asyncio.to_thread(opened.ensure_indexes)
            state.metrics.raw_store_up.set(1)
        except RawStoreUnavailable as error:
            # Start anyway: /readyz says not ready, requests get 503, and it heals without a restart.
            state.store_down = str(error)
            state.log.warning("raw_store_unavailable_at_start", reason=str(error))
        state.upstream = Upstream(
            settings.aviasales_base_url,
            token=settings.upstream_token,
            connect_timeout_s=config.connect_timeout_s,
            read_timeout_s=config.read_timeout_s,
            total_timeout_s=config.total_timeout_s,
            max_connections=config.max_connections,
            max_body_bytes=config.max_body_bytes,
        )
        state.writer = RawWriter(opened, state.metrics, config.raw_batch_max)
        state.writer.start()
        state.log.info(
            "proxy_started",
            upstream=settings.aviasales_base_url,
            sandbox=settings.uses_sandbox,
            raw_store=opened.describe(),
            limits={BY_PATH[p].name: limiter.per_window for p, limiter in state.limiters.items()},
        )
        try:
            yield
        finally:
            await state.writer.stop()
            await state.upstream.close()
            opened.close()

    app = FastAPI(
        title="TicketTrak proxy",
        version="0.1.0",
        description=(
            "The Aviasales Data API's own paths and parameters: validated, rate limited, the token "
            "added, and every exchange recorded unchanged in the RAW store before the answer is returned."
        ),
        lifespan=lifespan,
    )
    app.state.proxy = state

    for path, endpoint in sorted(BY_PATH.items()):
        if path not in PARAMS:
            continue
        app.add_api_route(
            path,
            Forwarder(state, path),
            methods=["GET"],
            name=endpoint.name,
            summary=f"Data API {path} (limit {state.limiters[path].per_window}/min here)",
            tags=["Data API"],
            openapi_extra={"parameters": _openapi_parameters(path)},
            responses={
                422: {"description": "invalid parameters; nothing sent upstream"},
                429: {"description": "over the per-minute budget (Retry-After), or upstream's 429"},
                502: {"description": "upstream unreachable or its answer malformed (recorded in RAW)"},
                503: {"description": "RAW store unavailable; no data returned"},
                504: {"description": "upstream timeout (recorded in RAW)"},
            },
        )

    @app.get(COMPLETED_PATH, response_model=CompletedKeys, tags=["TicketTrak"])
    async def completed(request: Request, logical_date: str) -> Response:
        """Request keys with a successful exchange (HTTP 200, JSON `success: true`) for the logical date."""
        request_id = uuid.uuid4().hex
        try:
            validate_logical_date(logical_date, "logical_date")
        except InvalidRequest as invalid:
            return problem(422, "invalid_request", str(invalid), request_id)
        assert state.store is not None
        try:
            keys = await asyncio.to_thread(state.store.completed_request_keys, logical_date)
        except RawStoreUnavailable as error:
            state.store_down = str(error)
            return problem(503, "raw_store_unavailable", str(error), request_id)
        state.log.info("completed_keys", request_id=request_id, logical_date=logical_date, count=len(keys))
        payload = {"logical_date": logical_date, "request_keys": keys}
        return _json(200, payload, {REQUEST_ID_HEADER: request_id})

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is up (liveness)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        """Ready when the RAW store answers a ping and upstream answers HTTP at all (no token used)."""
        store_check, upstream_check = await asyncio.gather(_check_store(state), _check_upstream(state))
        ready = store_check["ok"] and upstream_check["ok"]
        payload = {
            "status": "ready" if ready else "not_ready",
            "raw_store": store_check,
            "upstream": upstream_check,
        }
        return _json(200 if ready else 503, payload, {})

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _check(probe: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await probe()
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def _check_store(state: ProxyState) -> dict[str, Any]:
    assert state.store is not None
    store = state.store

    async def probe() -> None:
        await asyncio.to_thread(store.ping, state.config.raw_ping_timeout_s)

    result = await _check(probe)
    state.store_down = None if result["ok"] else result["error"]
    state.metrics.raw_store_up.set(1 if result["ok"] else 0)
    return result


async def _check_upstream(state: ProxyState) -> dict[str, Any]:
    assert state.upstream is not None
    upstream = state.upstream

    async def probe() -> None:
        # Any HTTP answer proves the upstream reachable; no token, so no budget is spent.
        await upstream.probe(min(2.0, state.config.connect_timeout_s))  # under the probe timeout

    result = await _check(probe)
    if not result["ok"]:
        result["error"] = state.scrubber.text(result["error"])
    return result
