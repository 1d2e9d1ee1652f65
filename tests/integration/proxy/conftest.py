"""The proxy under test: the real app (lifespan and all) in-process, the real sandbox upstream over
HTTP, and a real RAW store — the embedded montydb and FerretDB (MongoDB wire protocol).

    async def test_x(proxy_factory, sandbox):
        proxy = await proxy_factory(sandbox.base_url, rate_limits={"month_matrix": 2})
        response = await proxy.client.get("/v2/prices/month-matrix", params=...)
        proxy.documents()   # every RAW document, in seq order
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.ferretdb import unique_database_name
from tickettrak.common.embedded.mongo import open_raw_database
from tickettrak.common.raw_store import RawStore
from tickettrak.common.settings import Settings, load_settings
from tickettrak.proxy.app import ProxyState, create_app
from tickettrak.proxy.config import ProxySettings

LOGICAL_DATE = "2026-11-20"
RUN_HEADERS = {"X-TicketTrak-Run-Id": "test-run-1", "X-TicketTrak-Logical-Date": LOGICAL_DATE}
QUERIES: dict[str, dict[str, str]] = {
    "/aviasales/v3/prices_for_dates": {
        "origin": "MOW",
        "destination": "DXB",
        "departure_at": "2026-12",
        "one_way": "true",
        "currency": "rub",
        "market": "ru",
        "limit": "30",
        "sorting": "price",
    },
    "/aviasales/v3/grouped_prices": {
        "origin": "MOW",
        "destination": "DXB",
        "departure_at": "2026-12",
        "group_by": "departure_at",
    },
    "/aviasales/v3/get_latest_prices": {
        "origin": "LED",
        "destination": "DXB",
        "period_type": "month",
        "beginning_of_period": "2026-12-01",
        "one_way": "true",
    },
    "/v2/prices/month-matrix": {
        "origin": "MOW",
        "destination": "AUH",
        "month": "2026-12-01",
        "one_way": "true",
    },
}


@dataclass
class StoreTarget:
    kind: str  # "embedded" or "ferretdb"
    overrides: dict[str, Any]  # Settings fields that point at this store


@pytest.fixture(params=["embedded", pytest.param("ferretdb", marks=pytest.mark.ferretdb)])
def raw_target(request: pytest.FixtureRequest, tt_env: Path) -> Iterator[StoreTarget]:
    """A fresh RAW store, once embedded and once over the MongoDB wire protocol."""
    if request.param == "embedded":
        yield StoreTarget("embedded", {"home": tt_env})
        return
    uri = request.getfixturevalue("mongo_uri")
    name = unique_database_name("proxy")
    yield StoreTarget("ferretdb", {"home": tt_env, "mongo_uri": uri, "mongo_database": name})
    import pymongo

    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=2000) as client:
        client.drop_database(name)


@dataclass
class RunningProxy:
    app: Any
    client: httpx.AsyncClient
    settings: Settings
    reader: RawStore  # a separate handle, as the loader would open

    @property
    def state(self) -> ProxyState:
        state: ProxyState = self.app.state.proxy
        return state

    def documents(self) -> list[dict[str, Any]]:
        return [d for batch in self.reader.read_batches(0) for d in batch]


ProxyFactory = Callable[..., Awaitable[RunningProxy]]


@pytest.fixture
async def proxy_factory(raw_target: StoreTarget) -> AsyncIterator[ProxyFactory]:
    """Start proxies on `raw_target` in front of an upstream; all are stopped after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            upstream_url: str, *, token: str = "", store: dict[str, Any] | None = None, **config: Any
        ) -> RunningProxy:
            settings = load_settings(
                aviasales_base_url=upstream_url, aviasales_token=token, **(store or raw_target.overrides)
            )
            config.setdefault("raw_write_timeout_s", 3.0)
            app = create_app(settings, ProxySettings(**config))
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://proxy", timeout=30)
            )
            reader = RawStore(open_raw_database(settings))
            stack.callback(reader.close)
            return RunningProxy(app, client, settings, reader)

        yield start
