"""`tickettrak proxy` as its own process in front of an upstream, for the tests of this suite that
need a real server (schemathesis, injection) rather than the in-process app."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import free_port

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))


@dataclass
class ProxyProcess:
    url: str
    home: Path
    log: Path


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    return {**env, "TICKETTRAK_HOME": str(home), "TICKETTRAK_LOG_FORMAT": "json", **(extra or {})}


@contextmanager
def proxy_process(
    upstream_url: str, workdir: Path, env: Mapping[str, str] | None = None
) -> Iterator[ProxyProcess]:
    home, log = workdir / "proxy-home", workdir / "proxy.log"
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [TICKETTRAK, "proxy", "--port", str(port)],
            env=clean_env(home, {"TICKETTRAK_AVIASALES_BASE_URL": upstream_url, **(env or {})}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the proxy exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield ProxyProcess(url, home, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
