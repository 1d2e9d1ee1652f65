"""Injection strings in every user-facing parameter — CLI flags, the routes config, the proxy's
API query and headers — are rejected (non-zero exit / 4xx with a reason), never executed: no shell
command ran (a canary file stays absent), no SQL ran (a sentinel table survives), nothing reached
the upstream or RAW."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from tests.fixtures.sandbox import SandboxFactory
from tests.reliability.proxy_process import clean_env, proxy_process

pytestmark = [pytest.mark.slow]

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
CANARY = Path("/tmp/tt-reliability-injection-canary")
SHELL = f"$(touch {CANARY})"
BACKTICK = f"`touch {CANARY}`"
SQL = "x'); DROP TABLE public.sentinel; --"
PAYLOADS = [SHELL, BACKTICK, SQL, "../../../../etc/passwd", '{"$ne": null}', "MOW\nDXB", "\x00"]


@pytest.fixture
def sentinel_dsn(postgres_dsn: str) -> str:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.sentinel (id int)")
    return postgres_dsn


@pytest.fixture(autouse=True)
def no_canary() -> Any:
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "an injected shell command ran"
    CANARY.unlink(missing_ok=True)


def _sentinel_alive(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT to_regclass('public.sentinel') IS NOT NULL").fetchone() == (True,)


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TICKETTRAK, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=240, check=False
    )


def _cli_cases(payload: str) -> list[list[str]]:
    return [
        ["collect", "--logical-date", payload, "--dry-run"],
        ["collect", "--logical-date", "2026-03-02", "--run-id", payload, "--dry-run", "--no-progress"],
        ["load", "--batch-size", payload],
        ["load", "--log-format", payload],
        ["report", "--route", payload, "--no-terminal"],
        ["report", "--format", payload],
        ["run", "--end-date", payload],
    ] + ([["transform", "--select", payload]] if payload == SHELL else [])  # dbt's start is slow: once


@pytest.mark.parametrize("payload", [SHELL, SQL], ids=["shell", "sql"])
def test_cli_flags_reject_injections(payload: str, sentinel_dsn: str, tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", {"TICKETTRAK_POSTGRES_DSN": sentinel_dsn})
    accepted = []
    for args in _cli_cases(payload):
        done = _run(args, env, tmp_path)
        output = done.stdout + done.stderr
        if done.returncode == 0:
            accepted.append((args, output[-300:]))
        else:
            assert "Traceback" not in output.split("\n")[0], (args, output[-1500:])
        assert _sentinel_alive(sentinel_dsn), f"{args} dropped the sentinel table"
    # Accepted as data, harmlessly (nothing ran, checked above): a run id is a free-form label.
    harmless = [a for a, _ in accepted if a[3:4] == ["--run-id"]]
    assert len(harmless) == len(accepted), accepted


def test_routes_config_rejects_injections(tmp_path: Path) -> None:
    base = yaml.safe_load(
        (
            Path(__file__).resolve().parents[2] / "jobs/collector/src/tickettrak/collector/routes.yaml"
        ).read_text()
    )
    env = clean_env(tmp_path / "home")
    for payload in (SHELL, SQL, "../../../../etc/passwd", '{"$ne": null}'):
        # variant -> what its reason must name (the field, and for `params` the parameter)
        for variant, named in (
            ({"routes": {**base["routes"], "origins": [payload]}}, "routes.origins[0]"),
            ({"routes": {**base["routes"], "destinations": [payload]}}, "routes.destinations[0]"),
            ({"queries": [{**base["queries"][0], "endpoint": payload}]}, "queries.0.endpoint"),
            # query `params`: checked at start with the proxy's rules, not first at send time (422)
            ({"queries": [{**base["queries"][0], "params": {"limit": payload}}]}, "queries.0.params: limit:"),
            (
                {"queries": [{**base["queries"][0], "params": {"sorting": "price", payload: "1"}}]},
                "not a parameter of prices_for_dates",
            ),
        ):
            routes = tmp_path / "routes.yaml"
            routes.write_text(yaml.safe_dump({**base, **variant}, allow_unicode=True))
            done = _run(
                ["collect", "--logical-date", "2026-03-02", "--routes", str(routes), "--dry-run"],
                env,
                tmp_path,
            )
            assert done.returncode == 2, (payload, variant, done.stdout[-500:], done.stderr[-500:])
            reason = done.stderr.strip().splitlines()[-1]
            assert str(routes) in reason and named in reason, (named, reason)


def test_api_query_and_headers_reject_injections(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory()
    path = "/aviasales/v3/prices_for_dates"
    good = {"origin": "MOW", "destination": "DXB", "departure_at": "2026-12", "limit": "30"}
    headers = {"X-TicketTrak-Run-Id": "inj", "X-TicketTrak-Logical-Date": "2026-11-20"}
    with (
        proxy_process(sandbox.base_url, tmp_path) as proxy,
        httpx.Client(base_url=proxy.url, timeout=30) as client,
    ):
        for payload in PAYLOADS:
            for name in good:
                response = client.get(path, params={**good, name: payload}, headers=headers)
                assert response.status_code == 422, (name, payload, response.status_code, response.text[:300])
                assert name in response.json()["message"], response.text
            for header in headers if payload.isprintable() else ():  # httpx refuses NUL, CR/LF
                response = client.get(path, params=good, headers={**headers, header: payload})
                assert response.status_code in (200, 422), (header, payload, response.status_code)
            response = client.get("/tickettrak/v1/completed", params={"logical_date": payload})
            assert response.status_code == 422, response.text
            # NoSQL operator smuggling in the query string
            response = client.get(path, params={**good, "origin[$ne]": "x"}, headers=headers)
            assert response.status_code == 422, response.text
        # the only upstream calls: the header variants with a valid query (labels are data)
        calls = sandbox.stats()["total"]
        from tickettrak.common.raw_store import RawStore
        from tickettrak.common.settings import load_settings

    store = RawStore.open(load_settings(home=str(proxy.home)))
    try:
        documents = [d for batch in store.read_batches(0) for d in batch]
    finally:
        store.close()
    assert len(documents) == calls
    for document in documents:
        assert document["request"]["query"] == {**good}, document["request"]["query"]
