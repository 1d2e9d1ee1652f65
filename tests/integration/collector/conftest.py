"""The collector's real neighbours: the sandbox (in-process server, tests/fixtures/sandbox.py) and
the proxy as its own process (`tickettrak proxy`, as a pod or `tickettrak run` runs it) in front
of it, with the embedded RAW store in a temp TICKETTRAK_HOME.

    def test_x(collector_stack):
        stack = collector_stack(sandbox_limits={"prices_for_dates": 10}, faults={"error_5xx": 0.2})
        proc = stack.collect(["--logical-date", "2026-03-02", "--routes", str(routes)])
        stack.raw_documents("2026-03-02")
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.fixtures.sandbox import SandboxFactory, SandboxHandle
from tests.support import free_port
from tickettrak.collector.config import RoutesConfig, parse_routes_config
from tickettrak.common.raw_store import RawStore
from tickettrak.common.settings import load_settings

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))


def base_env(home: Path) -> dict[str, str]:
    """The parent's environment without any TICKETTRAK_ setting, plus a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    env.update(TICKETTRAK_HOME=str(home), TICKETTRAK_LOG_FORMAT="json")
    return env


@dataclass
class CollectorStack:
    sandbox: SandboxHandle
    proxy_url: str
    home: Path
    workdir: Path
    proxy: subprocess.Popen[bytes]
    proxy_log: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        """What a collector process gets: where the proxy is; no token, no upstream URL."""
        return {**base_env(self.home), "TICKETTRAK_PROXY_URL": self.proxy_url}

    def routes_file(self, config: Mapping[str, Any], name: str = "routes.yaml") -> tuple[Path, RoutesConfig]:
        path = self.workdir / name
        path.write_text(yaml.safe_dump(dict(config)))
        return path, parse_routes_config(dict(config), str(path))

    def start_collect(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.workdir / log_name).open("wb")
        process = subprocess.Popen(
            [TICKETTRAK, "collect", "--no-progress", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.workdir,
        )
        self.children.append(process)
        return process

    def collect(self, args: list[str], log_name: str, timeout: float = 120) -> tuple[int, str]:
        process = self.start_collect(args, log_name)
        code = process.wait(timeout)
        return code, (self.workdir / log_name).read_text()

    def completed_keys(self, logical_date: str) -> list[str]:
        """What the proxy says already succeeded (the collector's own resume question)."""
        response = httpx.get(
            self.proxy_url + "/tickettrak/v1/completed", params={"logical_date": logical_date}, timeout=10
        )
        response.raise_for_status()
        keys: list[str] = response.json()["request_keys"]
        return keys

    def raw_documents(self, logical_date: str) -> list[dict[str, Any]]:
        """Every RAW document of the logical date (read as the loader would, from this process)."""
        store = RawStore.open(load_settings(home=str(self.home)))
        try:
            return list(store.collection.find({"logical_date": logical_date}))
        finally:
            store.close()

    def stop(self) -> None:
        for process in [*self.children, self.proxy]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def is_success(document: Mapping[str, Any]) -> bool:
    response = document["response"]
    body = response.get("body")
    return response["status"] == 200 and isinstance(body, dict) and body.get("success") is True


StackFactory = Callable[..., CollectorStack]


@pytest.fixture
def collector_stack(sandbox_factory: SandboxFactory, tmp_path: Path) -> Iterator[StackFactory]:
    stacks: list[CollectorStack] = []

    def start(
        *,
        sandbox_limits: Mapping[str, int] | None = None,
        faults: Mapping[str, Any] | None = None,
        proxy_limits: Mapping[str, int] | None = None,
        proxy_env: Mapping[str, str] | None = None,
    ) -> CollectorStack:
        sandbox = sandbox_factory(rate_limits=sandbox_limits, faults=faults)
        home = tmp_path / f"home{len(stacks)}"
        workdir = tmp_path / f"work{len(stacks)}"
        workdir.mkdir()
        port = free_port()
        env = {**base_env(home), "TICKETTRAK_AVIASALES_BASE_URL": sandbox.base_url}
        if proxy_limits:
            env["TICKETTRAK_PROXY_RATE_LIMITS"] = json.dumps(dict(proxy_limits))
        env.update(proxy_env or {})
        proxy_log = workdir / "proxy.log"
        with proxy_log.open("wb") as log:
            proxy = subprocess.Popen(
                [TICKETTRAK, "proxy", "--host", "127.0.0.1", "--port", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
            )
        stack = CollectorStack(sandbox, f"http://127.0.0.1:{port}", home, workdir, proxy, proxy_log)
        stacks.append(stack)
        deadline = time.monotonic() + 60
        while True:
            if proxy.poll() is not None:
                raise RuntimeError(f"the proxy exited at start: {proxy_log.read_text()[-2000:]}")
            try:
                if httpx.get(stack.proxy_url + "/healthz", timeout=1).status_code == 200:
                    return stack
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start: {proxy_log.read_text()[-2000:]}")
            time.sleep(0.1)

    yield start
    for stack in stacks:
        stack.stop()
