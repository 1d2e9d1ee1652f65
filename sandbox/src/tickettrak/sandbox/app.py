"""The sandbox's HTTP face: the Data API's paths, its token check, its rate limits, plus
`/__sandbox/*` admin endpoints (stats, faults, rate limits, ground truth) for tests and benchmarks.

Order of checks for an API call, as the real edge does it: token (401), rate limit (429), then
the configured faults, then the answer. Every API call, whatever its fate, is counted in stats.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from tickettrak.common.endpoints import ENDPOINTS, TOKEN_HEADER, TOKEN_PARAMS, Endpoint
from tickettrak.common.settings import SANDBOX_TOKEN
from tickettrak.sandbox.control import (
    Clock,
    FaultConfig,
    FaultInjector,
    RateLimiter,
    Stats,
    documented_limits,
)
from tickettrak.sandbox.market import DEFAULT_SEED, Market
from tickettrak.sandbox.queries import ApiError, Engine

AS_OF_HEADER = "X-Sandbox-As-Of"
ADMIN_PREFIX = "/__sandbox"
JSON_TYPE = "application/json; charset=utf-8"
GZIP_MIN_BYTES = 1000
BODY_CACHE_SIZE = 2048  # rendered bodies are 1-200 KB

EDGE_5XX_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


@dataclass
class SandboxConfig:
    """How a sandbox starts. Everything but the seed and tokens can also change at runtime."""

    seed: int = DEFAULT_SEED
    tokens: tuple[str, ...] = (SANDBOX_TOKEN,)
    as_of: date | None = None  # None: today (UTC), read on every request
    rate_limit_scale: float = 1.0  # x the documented per-minute limits; 0 disables them
    rate_limits: dict[str, int] = field(default_factory=dict)  # per endpoint name, after scaling
    faults: FaultConfig = field(default_factory=FaultConfig)


def error_body(message: str) -> dict[str, Any]:
    """The API's error envelope (the docs: `success` false, `data` null, an `error` text)."""
    return {"success": False, "data": None, "error": message}


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _json(body: Any, status: int = 200) -> Response:
    return Response(content=_dumps(body), status_code=status, media_type=JSON_TYPE)


class BodyCache:
    """Answers are pure functions of (endpoint, query, as-of): keep the bytes (and their gzip)
    of recent ones, so a benchmark's hot keys cost a dict lookup, not a re-render."""

    def __init__(self, size: int = BODY_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, ...], list[bytes | None]] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> list[bytes | None] | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def put(self, key: tuple[object, ...], body: bytes) -> list[bytes | None]:
        item: list[bytes | None] = [body, None]
        self._items[key] = item
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return item

    def clear(self) -> None:
        self._items.clear()


class SandboxState:
    """Everything one running sandbox holds; reachable as `app.state.sandbox`."""

    def __init__(self, config: SandboxConfig, clock: Clock = time.time) -> None:
        self.config = config
        self.clock = clock
        self.market = Market(seed=config.seed)
        self.engine = Engine(self.market)
        self.tokens = frozenset(config.tokens)
        self.limiter = RateLimiter(documented_limits(config.rate_limit_scale, config.rate_limits), clock)
        self.faults = FaultInjector(config.faults)
        self.stats = Stats(clock)
        self.bodies = BodyCache()
        self.handlers: dict[str, Callable[[Mapping[str, str], date], dict[str, Any]]] = {
            "prices_for_dates": self.engine.prices_for_dates,
            "grouped_prices": self.engine.grouped_prices,
            "get_latest_prices": self.engine.get_latest_prices,
            "month_matrix": self.engine.month_matrix,
        }

    def default_as_of(self) -> date:
        return self.config.as_of or datetime.fromtimestamp(self.clock(), UTC).date()

    def reset(self) -> None:
        """Back to the start: no calls counted, fresh rate windows, the start-up faults."""
        self.stats.reset()
        self.limiter.reset()
        self.faults.configure(self.config.faults)


def _token_label(token: str | None) -> str:
    if not token:
        return "missing"
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:8]


async def _api_call(request: Request, endpoint: Endpoint) -> Response:
    state: SandboxState = request.app.state.sandbox
    arrived = state.clock()
    token = request.headers.get(TOKEN_HEADER) or request.query_params.get("token")
    fault: str | None = None
    if not token or token not in state.tokens:
        response = _json(error_body("Unauthorized: missing or invalid token (X-Access-Token)"), 401)
    elif not state.limiter.allow(token, endpoint.name):
        limit = state.limiter.limits.get(endpoint.name)
        response = _json(error_body(f"Too Many Requests: {limit} requests per minute per token"), 429)
    else:
        plan = state.faults.plan(endpoint.name)
        if plan.delay_s:
            await asyncio.sleep(plan.delay_s)
            fault = "stall_or_latency"
        fault = plan.outcome or fault
        if plan.outcome == "5xx":
            status = state.faults.config.error_status
            page = EDGE_5XX_PAGE.format(status=status)
            response = Response(content=page, status_code=status, media_type="text/html")
        elif plan.outcome == "429":
            response = _json(error_body("Too Many Requests"), 429)
        else:
            response = await _answer(state, request, endpoint, compress=plan.outcome is None)
            if plan.outcome in ("malformed", "truncated") and response.status_code == 200:
                response = _broken(bytes(response.body), plan.outcome)
    state.stats.record(endpoint.name, response.status_code, arrived, _token_label(token), fault)
    return response


async def _answer(state: SandboxState, request: Request, endpoint: Endpoint, compress: bool) -> Response:
    try:
        as_of = _as_of(state, request.headers.get(AS_OF_HEADER))
        query = {k: v for k, v in request.query_params.items() if k not in TOKEN_PARAMS}
        key = (endpoint.name, as_of, tuple(sorted(query.items())))
        item = state.bodies.get(key)
        if item is None:
            # a first-time answer can take long (a month x month search): off the event loop, so
            # cached answers keep flowing meanwhile
            rendered = await run_in_threadpool(_render, state, endpoint.name, query, as_of)
            item = state.bodies.put(key, rendered)
    except ApiError as error:
        return _json(error_body(str(error)), error.status)
    body = item[0] or b""
    if compress and len(body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        if item[1] is None:
            item[1] = gzip.compress(body, compresslevel=5, mtime=0)
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return Response(content=item[1], status_code=200, media_type=JSON_TYPE, headers=headers)
    return Response(content=body, status_code=200, media_type=JSON_TYPE)


def _render(state: SandboxState, name: str, query: Mapping[str, str], as_of: date) -> bytes:
    return _dumps(state.handlers[name](query, as_of))


def _as_of(state: SandboxState, header: str | None) -> date:
    if not header:
        return state.default_as_of()
    text = header.strip()
    if len(text) > 10 and text[10] in "T ":  # a logical date sent as a datetime: its day
        text = text[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(f"{AS_OF_HEADER} must be YYYY-MM-DD, got {header!r}") from None


def _broken(body: bytes, how: str) -> Response:
    if how == "truncated":
        content = body[: max(len(body) // 2, 1)]  # a body cut short, Content-Length honest
    else:
        # Python-repr-looking JSON: what an upstream that prints dicts sends (the recordings'
        # origin was exactly such a log line); no JSON parser accepts it
        content = body.replace(b'"', b"'").replace(b"true", b"True")
    return Response(content=content, status_code=200, media_type=JSON_TYPE)


def create_app(config: SandboxConfig | None = None, clock: Clock = time.time) -> FastAPI:
    """Build the sandbox app. `clock` (epoch seconds) drives rate windows, stats and 'today'."""
    state = SandboxState(config or SandboxConfig(), clock)
    app = FastAPI(
        title="TicketTrak Aviasales sandbox",
        description="The Aviasales Data API's paths and shapes over a deterministic market model.",
        docs_url=f"{ADMIN_PREFIX}/docs",
        redoc_url=None,
        openapi_url=f"{ADMIN_PREFIX}/openapi.json",
    )
    app.state.sandbox = state

    for endpoint in ENDPOINTS.values():
        _add_api_route(app, endpoint)
    _add_admin_routes(app, state)

    @app.get("/{path:path}", include_in_schema=False)
    async def not_modelled(path: str) -> Response:
        """Other Data API paths exist upstream; the sandbox says plainly it does not serve them."""
        served = ", ".join(e.path for e in ENDPOINTS.values())
        return _json(error_body(f"the TicketTrak sandbox does not serve /{path}; it serves {served}"), 404)

    return app


def _add_api_route(app: FastAPI, endpoint: Endpoint) -> None:
    async def handler(request: Request) -> Response:
        return await _api_call(request, endpoint)

    handler.__name__ = endpoint.name
    app.add_api_route(endpoint.path, handler, methods=["GET"], summary=endpoint.path)


def _add_admin_routes(app: FastAPI, state: SandboxState) -> None:
    @app.get(f"{ADMIN_PREFIX}/health")
    async def health() -> dict[str, Any]:
        return {"ok": True, "as_of": state.default_as_of().isoformat()}

    @app.get(f"{ADMIN_PREFIX}/stats")
    async def stats() -> Response:
        snapshot = state.stats.snapshot()
        snapshot["rate_limits"] = dict(state.limiter.limits)
        snapshot["faults_injected"] = state.faults.injected
        return _json(snapshot)

    @app.post(f"{ADMIN_PREFIX}/reset")
    async def reset() -> dict[str, Any]:
        state.reset()
        return {"ok": True}

    @app.get(f"{ADMIN_PREFIX}/faults")
    async def get_faults() -> dict[str, Any]:
        return state.faults.config.model_dump()

    @app.post(f"{ADMIN_PREFIX}/faults")
    async def set_faults(config: FaultConfig) -> dict[str, Any]:
        state.faults.configure(config)
        return state.faults.config.model_dump()

    @app.get(f"{ADMIN_PREFIX}/rate-limits")
    async def get_limits() -> dict[str, int]:
        return dict(state.limiter.limits)

    @app.post(f"{ADMIN_PREFIX}/rate-limits")
    async def set_limits(limits: dict[str, int]) -> Response:
        unknown = sorted(set(limits) - set(ENDPOINTS))
        if unknown:
            return _json({"error": f"unknown endpoints {unknown}; known: {sorted(ENDPOINTS)}"}, 422)
        state.limiter.limits.update(limits)
        state.limiter.reset()
        return _json(dict(state.limiter.limits))

    @app.get(f"{ADMIN_PREFIX}/truth")
    async def truth(origin: str | None = None, destination: str | None = None) -> Response:
        if origin and destination:
            try:
                route = state.market.route(origin, destination)
            except KeyError as error:
                return _json({"error": str(error.args[0])}, 404)
            return _json(
                {
                    "origin": route.origin,
                    "destination": route.destination,
                    "cheapest_window": list(route.cheapest_window),
                    "best_purchase_weekday": route.best_purchase_weekday,
                    "reference_fare": route.reference_fare,
                }
            )
        return _json(state.market.parameters())
