"""TICKETTRAK_HOME read-only or full (root only: a real tmpfs mount, read-only or of a few MB).

Read-only: each command that keeps state in the home exits non-zero with a clear reason on its last
line (not a traceback) and writes nothing. Full (ENOSPC, a 3 MB tmpfs): the proxy with the
embedded RAW store never returns data it could not record (answers 503 instead), what it did
record stays readable and intact (seq dense, each body equal to what the client got), and once
space is back it records again without a restart.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.sandbox import SandboxFactory
from tests.support import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root (CI runs as root)"),
]

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
RUN_HEADERS = {"X-TicketTrak-Run-Id": "disk-full", "X-TicketTrak-Logical-Date": "2026-06-01"}


def _mount(path: Path, *options: str) -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(path)], check=True)


@pytest.fixture
def tmpfs_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    _mount(home, "size=3m", "mode=0755")
    try:
        yield home
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    return {**env, "TICKETTRAK_HOME": str(home), "TICKETTRAK_LOG_FORMAT": "json", **extra}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# command -> extra env
READ_ONLY_CASES = [
    pytest.param(["load"], {"TICKETTRAK_POSTGRES_DSN": "postgresql://127.0.0.1:1/none"}, id="load"),
    pytest.param(
        ["proxy", "--port", "18089"],  # never bound: the proxy stops before it listens
        {},
        id="proxy",
    ),
    pytest.param(
        ["report", "--no-terminal"],
        {},
        id="report",
    ),
    pytest.param(
        ["run", "--days", "1"],
        {},
        id="run",
    ),
]


@pytest.mark.parametrize(("args", "extra"), READ_ONLY_CASES)
def test_read_only_home_is_a_clear_error(tmpfs_home: Path, args: list[str], extra: dict[str, str]) -> None:
    (tmpfs_home / "raw").mkdir()
    (tmpfs_home / "raw" / "keep.txt").write_text("state before")
    before = _files(tmpfs_home)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs_home)], check=True)
    done = subprocess.run(
        [TICKETTRAK, *args], env=_env(tmpfs_home, **extra), capture_output=True, text=True, timeout=120
    )
    output = (done.stdout + done.stderr).strip()
    last = output.splitlines()[-1] if output else ""
    assert done.returncode != 0
    assert _files(tmpfs_home) == before  # nothing written, nothing damaged
    assert not any(line.startswith("Traceback") for line in output.splitlines()), output[-1500:]
    assert "read-only" in last.lower() and str(tmpfs_home) in last, last


def _wait_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.2)


def test_full_home_withholds_unrecorded_data_and_recovers(
    tmpfs_home: Path, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(rate_limit_scale=0)
    port = free_port()
    log = tmp_path / "proxy.log"
    with log.open("wb") as out:
        proxy = subprocess.Popen(
            [TICKETTRAK, "proxy", "--port", str(port)],
            env=_env(
                tmpfs_home,
                TICKETTRAK_AVIASALES_BASE_URL=sandbox.base_url,
                TICKETTRAK_PROXY_RAW_WRITE_TIMEOUT_S="3",
                TICKETTRAK_PROXY_RATE_LIMIT_FRACTION="1",
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, proxy, log)
        answered: dict[str, Any] = {}  # departure_at -> the body the client got with a 200
        refused = 0
        with httpx.Client(base_url=url, timeout=30, headers=RUN_HEADERS) as client:
            # round trips over a whole month: ~0.6 MB bodies, so 3 MB fill within a few requests
            months = [f"{2026 + (6 + m) // 12}-{(6 + m) % 12 + 1:02d}" for m in range(14)]
            queries = [
                {"origin": o, "destination": "DXB", "departure_at": dep, "return_at": ret,
                 "one_way": "false", "limit": "1000"}
                for o in ("MOW", "LED") for dep, ret in itertools.pairwise(months)
            ]  # fmt: skip
            for params in queries:
                day = f"{params['origin']}:{params['departure_at']}"
                response = client.get("/aviasales/v3/prices_for_dates", params=params)
                if response.status_code == 200:
                    answered[day] = response.json()
                else:
                    assert response.status_code == 503, response.text
                    assert "RAW" in response.json()["message"], response.text
                    assert "data" not in response.json()
                    refused += 1
                    if refused >= 3:
                        break
            assert refused >= 3, f"the 3 MB home never filled ({len(answered)} answers)"
            assert answered, "nothing was recorded before the disk filled"

            # space comes back: the proxy records again, no restart
            subprocess.run(["mount", "-o", "remount,size=64m", str(tmpfs_home)], check=True)
            deadline = time.monotonic() + 30
            while True:
                params = {"origin": "LED", "destination": "DXB", "departure_at": "2026-12-01"}
                back = client.get("/aviasales/v3/prices_for_dates", params=params)
                if back.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert back.status_code == 200, back.text
            answered["LED:2026-12-01"] = back.json()
    finally:
        proxy.terminate()
        proxy.wait(timeout=30)

    # RAW intact: every 200 has its document with the same body; seq dense; nothing refused kept
    from tickettrak.common.raw_store import RawStore, body_json
    from tickettrak.common.settings import load_settings

    store = RawStore.open(load_settings(home=str(tmpfs_home)))
    try:
        documents = [d for batch in store.read_batches(0) for d in batch]
    finally:
        store.close()
    by_day = {
        f"{d['request']['query']['origin']}:{d['request']['query']['departure_at']}": d for d in documents
    }
    assert set(by_day) == set(answered), sorted(set(by_day) ^ set(answered))
    for day, body in answered.items():
        assert body_json(by_day[day]) == body, day
    seqs = [d["seq"] for d in documents]
    assert seqs == list(range(1, len(seqs) + 1))
