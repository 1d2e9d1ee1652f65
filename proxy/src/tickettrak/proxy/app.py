"""The FastAPI proxy: the Data API's own paths, validated, rate limited, token added, logged in RAW.

Order of a request (see `forward.py`): validate (422) -> RAW store known down? (503) -> budget
(429) -> upstream -> RAW document written and acknowledged (else 503) -> the client gets the
upstream answer. A client never gets data that RAW does not hold.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from tickettrak.common.endpoints import BY_PATH, LOGICAL_DATE_HEADER, RUN_ID_HEADER
from tickettrak.common.logs import register_secrets
from tickettrak.common.query_params import PARAMS, InvalidRequest, validate_logical_date
from tickettrak.common.raw_store import MixedUpstreams, RawStore, RawStoreUnavailable
from tickettrak.common.settings import Settings, get_settings
from tickettrak.proxy.config import ProxySettings
from tickettrak.proxy.forward import (
    REQUEST_ID_HEADER,
    SOURCE_HEADER,
    Forwarder,
    Receive,
    Scope,
    Send,
    json_answer,
    problem,
)
from tickettrak.proxy.metrics import ProxyMetrics
from tickettrak.proxy.ratelimit import SlidingWindowLimiter
from tickettrak.proxy.scrub import TokenScrubber
from tickettrak.proxy.state import ProxyState
from tickettrak.proxy.upstream import Upstream
from tickettrak.proxy.writer import RawWriter

__all__ = ["COMPLETED_PATH", "ProxyApp", "ProxyState", "create_app", "open_store"]

COMPLETED_PATH = "/tickettrak/v1/completed"


class CompletedKeys(BaseModel):
    logical_date: str
    request_keys: list[str]


class ProxyApp(FastAPI):
    """FastAPI, except that a GET on a Data API path goes straight to its `Forwarder`.

    Those requests skip Starlette's middleware stack, routing and FastAPI's dependency solving
    (none of which they use); everything else (other methods: 405, the docs, operations) is FastAPI.
    """

    forwarders: dict[str, Forwarder]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        forwarder = self.forwarders.get(scope["path"]) if scope["type"] == "http" else None
        if forwarder is not None:
            if scope["method"] == "GET":
                await forwarder.asgi(scope, receive, send)
            else:  # the API is read-only: refused in the proxy's own error shape, with its request id
                request_id = uuid.uuid4().hex
                message = (
                    f"{scope['method']} is not allowed on {scope['path']}: the Data API is read-only (GET)"
                )
                answer = problem(405, "method_not_allowed", message, request_id, Allow="GET")
                await answer.response()(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def _validation_problem(request: Request, error: Exception) -> Response:
    """FastAPI's own parameter validation (the `/tickettrak/v1/completed` query), in the proxy's shape."""
    assert isinstance(error, RequestValidationError)
    errors = [{"param": str(e["loc"][-1]), "message": str(e["msg"])} for e in error.errors()]
    message = "; ".join(f"{e['param']}: {e['message']}" for e in errors) or "invalid request"
    request_id = uuid.uuid4().hex
    payload = {"error": "invalid_request", "message": message, "errors": errors, "request_id": request_id}
    return json_answer(422, payload, {REQUEST_ID_HEADER: request_id, SOURCE_HEADER: "proxy"}).response()


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
        except MixedUpstreams:
            opened.close()
            raise  # no healing from this one: the store holds the other upstream's exchanges
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

    app = ProxyApp(
        title="TicketTrak proxy",
        version="0.1.0",
        description=(
            "The Aviasales Data API's own paths and parameters: validated, rate limited, the token "
            "added, and every exchange recorded unchanged in the RAW store before the answer is returned."
        ),
        lifespan=lifespan,
    )
    app.state.proxy = state
    app.forwarders = {}
    app.add_exception_handler(RequestValidationError, _validation_problem)

    for path, endpoint in sorted(BY_PATH.items()):
        if path not in PARAMS:
            continue
        forwarder = app.forwarders[path] = Forwarder(state, path)
        app.add_api_route(
            path,
            forwarder.route,
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
            return problem(422, "invalid_request", str(invalid), request_id).response()
        assert state.store is not None
        try:
            keys = await asyncio.to_thread(state.store.completed_request_keys, logical_date)
        except RawStoreUnavailable as error:
            state.store_down = str(error)
            return problem(503, "raw_store_unavailable", str(error), request_id).response()
        state.log.info("completed_keys", request_id=request_id, logical_date=logical_date, count=len(keys))
        payload = {"logical_date": logical_date, "request_keys": keys}
        return json_answer(200, payload, {REQUEST_ID_HEADER: request_id}).response()

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
        return json_answer(200 if ready else 503, payload, {}).response()

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
        if not store.ready:  # e.g. the store holds the other upstream's exchanges (MixedUpstreams)
            await asyncio.to_thread(store.ensure_indexes)

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
