"""RAW store down: 503, no upstream data returned, nothing written, no upstream call while known
down; back up: works again without a restart. Over the wire protocol (a FerretDB we stop/start)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.fixtures.ferretdb import FerretDBFactory, FerretDBServer
from tests.fixtures.sandbox import SandboxHandle
from tests.integration.proxy.conftest import QUERIES, RUN_HEADERS, ProxyFactory, StoreTarget
from tickettrak.common.embedded.mongo import open_raw_database
from tickettrak.common.raw_store import RawStore
from tickettrak.common.settings import SANDBOX_TOKEN, load_settings

pytestmark = [pytest.mark.integration, pytest.mark.ferretdb]

PATH = "/aviasales/v3/prices_for_dates"


@pytest.fixture
def private_ferretdb(ferretdb_factory: FerretDBFactory) -> FerretDBServer:
    return ferretdb_factory()


@pytest.fixture
def raw_target(private_ferretdb: FerretDBServer, tt_env: Path) -> StoreTarget:
    """Overrides the conftest's: this module's proxies write to a FerretDB the test controls."""
    return StoreTarget("ferretdb", {"home": tt_env, "mongo_uri": private_ferretdb.uri})


def _query(day: int) -> dict[str, str]:
    return {**QUERIES[PATH], "departure_at": f"2026-12-{day:02d}"}


async def test_raw_store_down_then_back(
    proxy_factory: ProxyFactory, sandbox: SandboxHandle, private_ferretdb: FerretDBServer
) -> None:
    proxy = await proxy_factory(sandbox.base_url, raw_write_timeout_s=2.0, raw_ping_timeout_s=0.5)
    assert (await proxy.client.get(PATH, params=_query(1), headers=RUN_HEADERS)).status_code == 200

    private_ferretdb.stop()
    lost = await proxy.client.get(PATH, params=_query(2), headers=RUN_HEADERS)
    assert lost.status_code == 503, lost.text
    assert lost.json()["error"] == "raw_store_unavailable"
    assert "RAW store" in lost.json()["message"] and "data" not in lost.json()
    assert sandbox.calls("prices_for_dates") == 2  # it was asked, but its answer is not returned

    started = time.monotonic()
    refused = await proxy.client.get(PATH, params=_query(3), headers=RUN_HEADERS)
    assert refused.status_code == 503 and "nothing sent upstream" in refused.json()["message"]
    assert time.monotonic() - started < 2.5
    assert sandbox.calls("prices_for_dates") == 2  # known down: no upstream call at all
    ready = await proxy.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["raw_store"]["ok"] is False
    metrics = (await proxy.client.get("/metrics")).text
    assert "tickettrak_proxy_raw_store_up 0.0" in metrics

    private_ferretdb.start()  # same port, same files
    deadline = time.monotonic() + 20
    while True:
        back = await proxy.client.get(PATH, params=_query(4), headers=RUN_HEADERS)
        if back.status_code == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert back.status_code == 200, back.text
    documents = proxy.documents()
    # Nothing half-written: the exchanges whose answer was refused are not in RAW; seq stays dense.
    assert [d["seq"] for d in documents] == [1, 2]
    assert [d["request"]["query"]["departure_at"] for d in documents] == ["2026-12-01", "2026-12-04"]
    assert (await proxy.client.get("/readyz")).status_code == 200


async def test_a_store_back_with_the_other_upstreams_exchanges_spends_no_upstream_call(
    proxy_factory: ProxyFactory,
    sandbox: SandboxHandle,
    private_ferretdb: FerretDBServer,
    raw_target: StoreTarget,
) -> None:
    """Started while its store was down, a proxy learns only when the store is back that it holds
    the other upstream's exchanges: from then on it must refuse before calling upstream (with a
    token, every call spends the real API's budget) and /readyz must say not ready."""
    claimed = RawStore(open_raw_database(load_settings(**raw_target.overrides)), upstream_kind="sandbox")
    claimed.ensure_indexes()
    claimed.close()
    private_ferretdb.stop()
    proxy = await proxy_factory(  # a token: this proxy's upstream counts as the real API
        sandbox.base_url, token=SANDBOX_TOKEN, raw_write_timeout_s=2.0, raw_ping_timeout_s=0.5
    )
    private_ferretdb.start()
    for day in range(1, 4):
        answer = await proxy.client.get(PATH, params=_query(day), headers=RUN_HEADERS)
        assert answer.status_code == 503, answer.text
        assert "refusing to mix" in answer.json()["message"]
    assert sandbox.calls("prices_for_dates") == 0
    ready = await proxy.client.get("/readyz")
    assert ready.status_code == 503 and "refusing to mix" in ready.json()["raw_store"]["error"]
    assert proxy.documents() == []
