"""The proxy's HTTP API under hostile input: Schemathesis over its own OpenAPI (bounded examples,
fixed seed) finds no 5xx and every 4xx carries a readable reason; the API is read-only (GET only;
any other method is 405 and reaches nothing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.fixtures.sandbox import SandboxFactory
from tests.reliability.proxy_process import proxy_process

pytestmark = [pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("RELIABILITY_SCHEMATHESIS_EXAMPLES", "25"))


def schemathesis_cli() -> str | None:
    """The project's (root dev group in .venv), or one named by RELIABILITY_SCHEMATHESIS."""
    for candidate in (
        os.environ.get("RELIABILITY_SCHEMATHESIS"),
        str(REPO / ".venv" / "bin" / "schemathesis"),
        shutil.which("schemathesis"),
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _reason(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    # ours: {"error", "message"}; FastAPI's: {"detail"}; the API's relayed envelope: {"error": "..."}
    for key in ("message", "detail", "error"):
        if isinstance(body.get(key), str) and len(body[key]) >= 8:
            return str(body[key])
    detail = body.get("detail")  # FastAPI's own validation answer: [{"loc": [...], "msg": "..."}]
    if isinstance(detail, list) and detail and all(isinstance(d, dict) and d.get("msg") for d in detail):
        return "; ".join(f"{d.get('loc')}: {d['msg']}" for d in detail)
    return ""


def test_schemathesis_finds_no_5xx_and_every_4xx_says_why(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    cli = schemathesis_cli()
    if cli is None:
        pytest.fail("schemathesis is not installed: it is in the root dev group (`make venv`)")
    sandbox = sandbox_factory(rate_limit_scale=0)
    har = tmp_path / "exchanges.har"
    with proxy_process(sandbox.base_url, tmp_path, {"TICKETTRAK_PROXY_RATE_LIMIT_FRACTION": "1"}) as proxy:
        run = subprocess.run(
            [
                cli, "run", f"{proxy.url}/openapi.json", "--max-examples", str(MAX_EXAMPLES),
                "--checks", "not_a_server_error", "--seed", "1", "--workers", "1",
                "--report", "har", "--report-har-path", str(har), "--request-timeout", "30",
            ],
            capture_output=True, text=True, timeout=420, cwd=tmp_path,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    statuses = Counter(e["response"]["status"] for e in entries)
    assert len(entries) >= 200 and statuses[422] > 0, statuses  # it really probed the inputs
    assert not [s for s in statuses if s >= 500], statuses
    unexplained = [
        (e["request"]["method"], e["request"]["url"], e["response"]["status"])
        for e in entries
        if 400 <= e["response"]["status"] < 500 and not _reason(e["response"]["content"].get("text", ""))
    ]
    assert not unexplained, unexplained[:10]


def test_the_api_is_read_only(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    sandbox = sandbox_factory()
    with proxy_process(sandbox.base_url, tmp_path) as proxy:
        spec = httpx.get(proxy.url + "/openapi.json", timeout=10).json()
        methods = {method for operations in spec["paths"].values() for method in operations}
        assert methods == {"get"}, methods
        for path in spec["paths"]:
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                response = httpx.request(method, proxy.url + path, timeout=10)
                assert response.status_code == 405, (method, path, response.status_code)
    assert sandbox.stats()["total"] == 0  # nothing of that reached the upstream
