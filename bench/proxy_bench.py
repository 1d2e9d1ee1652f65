"""Proxy benchmark: the client calls the sandbox directly vs through the proxy, side by side in one run.

Three targets, each a real process on localhost: the sandbox (no rate limits), a proxy writing RAW to
FerretDB (MongoDB wire protocol, SQLite backend), a proxy writing RAW to the embedded montydb. For
each: latency at concurrency 1 (p50/p99, and what the proxy adds over direct), throughput at a
bounded concurrency, and the count of RAW documents == the count of proxied requests.

    .venv/bin/python bench/proxy_bench.py                  # defaults: 300 sequential, 2000 at concurrency 16
    .venv/bin/python bench/proxy_bench.py --requests 4000 --concurrency 32 --json out.json

Goal (FerretDB path): adds < 5 ms at p50 and sustains >= 300 logged requests/s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
SANDBOX_TOKEN = "tickettrak-sandbox"  # noqa: S105 (public: it opens only the local sandbox)
PATH = "/aviasales/v3/prices_for_dates"
ORIGINS = ["MOW", "LED", "KZN", "SVX", "AER", "OVB"]
DESTINATIONS = ["DXB", "AUH", "SHJ"]
RUN_HEADERS = {"X-TicketTrak-Run-Id": "bench", "X-TicketTrak-Logical-Date": "2026-11-20"}
Getter = Callable[[dict[str, str]], Awaitable[tuple[int, bytes]]]
UNLIMITED = json.dumps({name: 10_000_000 for name in ("prices_for_dates", "grouped_prices")})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def queries() -> Iterator[dict[str, str]]:
    """Distinct realistic requests (route x departure day), cycling."""
    for n in itertools.count():
        yield {
            "origin": ORIGINS[n % len(ORIGINS)],
            "destination": DESTINATIONS[(n // len(ORIGINS)) % len(DESTINATIONS)],
            "departure_at": f"2026-12-{n % 28 + 1:02d}",
            "one_way": "true",
            "currency": "rub",
            "market": "ru",
            "limit": "30",
            "sorting": "price",
        }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    name: str
    url: str
    headers: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)  # the processes serving this target
    sent: int = 0
    ok: int = 0
    results: dict[str, dict[str, float]] = field(default_factory=dict)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextlib.asynccontextmanager
async def _client(target: Target, concurrency: int, kind: str) -> AsyncIterator[Getter]:
    """A keep-alive client for `target`: `get(params)` -> (status, body)."""
    if kind == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=target.url, headers=target.headers, limits=limits, timeout=60
        ) as client:

            async def get_httpx(params: dict[str, str]) -> tuple[int, bytes]:
                response = await client.get(PATH, params=params)
                return response.status_code, response.content

            yield get_httpx
        return
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(headers=target.headers, connector=connector, timeout=timeout) as session:
        url = target.url + PATH

        async def get_aiohttp(params: dict[str, str]) -> tuple[int, bytes]:
            async with session.get(url, params=params) as response:
                return response.status, await response.read()

        yield get_aiohttp


async def load(target: Target, requests: int, concurrency: int, client: str = "aiohttp") -> dict[str, float]:
    """Send `requests` requests with at most `concurrency` in flight; latencies in ms.

    CPU per request is measured for every process serving the target and for this client.
    """
    latencies: list[float] = []
    source = queries()
    async with _client(target, concurrency, client) as get:

        async def worker(count: int) -> None:
            for _ in range(count):
                params = next(source)
                started = time.perf_counter()
                status, body = await get(params)
                latencies.append((time.perf_counter() - started) * 1000)
                target.sent += 1
                if status != 200:
                    raise RuntimeError(f"{target.name}: HTTP {status}: {body[:300]!r}")
                target.ok += 1

        share = [
            requests // concurrency + (1 if i < requests % concurrency else 0) for i in range(concurrency)
        ]
        cpu_before = {name: cpu_seconds(pid) for name, pid in target.pids.items()}
        client_cpu_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in share if n))
        elapsed = time.perf_counter() - started
        cpu_ms = {
            f"cpu_ms_per_req_{name}": (cpu_seconds(pid) - cpu_before[name]) * 1000 / requests
            for name, pid in target.pids.items()
        }
        cpu_ms["cpu_ms_per_req_client"] = (time.process_time() - client_cpu_before) * 1000 / requests
    return {
        "requests": requests,
        "concurrency": concurrency,
        "p50_ms": statistics.median(latencies),
        "p99_ms": _percentile(latencies, 0.99),
        "rps": requests / elapsed,
        **cpu_ms,
    }


# --- processes -------------------------------------------------------------------------------------
def _ferretdb_binary() -> str:
    for candidate in (
        os.environ.get("TICKETTRAK_TEST_FERRETDB"),
        shutil.which("ferretdb"),
        "~/go/bin/ferretdb",
    ):
        if candidate and Path(candidate).expanduser().is_file():
            return str(Path(candidate).expanduser())
    raise SystemExit("error: no FerretDB binary (run `make tools`, or set TICKETTRAK_TEST_FERRETDB)")


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: {what} exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"error: {what} not ready at {url}")


def _wait_mongo(uri: str, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    import pymongo

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            client: pymongo.MongoClient[dict[str, Any]]
            with pymongo.MongoClient(uri, serverSelectionTimeoutMS=300) as client:
                client.admin.command("ping")
                return
        except pymongo.errors.PyMongoError:
            time.sleep(0.2)
    raise SystemExit("error: FerretDB did not start")


@contextlib.contextmanager
def services(work: Path) -> Iterator[tuple[list[Target], dict[str, Any]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(args: list[str], env: dict[str, str], log: str) -> subprocess.Popen[bytes]:
        with (work / log).open("wb") as out:
            process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    base_env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    try:
        sandbox_port, ferret_port = free_port(), free_port()
        sandbox = spawn(
            [
                TICKETTRAK,
                "sandbox",
                "--port",
                str(sandbox_port),
                "--rate-limit-scale",
                "0",
                "--log-level",
                "warning",
            ],
            {**base_env, "TICKETTRAK_HOME": str(work / "sandbox")},
            "sandbox.log",
        )
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        (work / "ferretdb").mkdir()
        ferretdb = spawn(
            [
                _ferretdb_binary(),
                "--handler=sqlite",
                f"--sqlite-url=file:{work / 'ferretdb'}/",
                f"--listen-addr=127.0.0.1:{ferret_port}",
                f"--state-dir={work}",
                "--debug-addr=-",
                "--telemetry=disable",
                "--log-level=warn",
            ],
            base_env,
            "ferretdb.log",
        )
        mongo_uri = f"mongodb://127.0.0.1:{ferret_port}/"
        _wait_mongo(mongo_uri, ferretdb)
        proxy_env = {
            **base_env,
            "TICKETTRAK_AVIASALES_BASE_URL": sandbox_url,
            "TICKETTRAK_LOG_FORMAT": "json",
            "TICKETTRAK_PROXY_RATE_LIMITS": UNLIMITED,  # measure the proxy, not its budget
        }
        stores = {
            "ferretdb": {"TICKETTRAK_MONGO_URI": mongo_uri, "TICKETTRAK_MONGO_DATABASE": "bench"},
            "embedded": {},
        }
        targets = [Target("direct", sandbox_url, {"X-Access-Token": SANDBOX_TOKEN}, {"sandbox": sandbox.pid})]
        for name, store_env in stores.items():
            port = free_port()
            env = {**proxy_env, **store_env, "TICKETTRAK_HOME": str(work / name)}
            process = spawn([TICKETTRAK, "proxy", "--port", str(port)], env, f"proxy-{name}.log")
            pids = {"sandbox": sandbox.pid, "proxy": process.pid}
            if name == "ferretdb":
                pids["ferretdb"] = ferretdb.pid
            targets.append(Target(f"proxy+{name}", f"http://127.0.0.1:{port}", dict(RUN_HEADERS), pids))
            _wait_http(f"http://127.0.0.1:{port}/healthz", process, f"proxy ({name})")
        _wait_http(f"{sandbox_url}/__sandbox/health", sandbox, "sandbox")
        for target in targets[1:]:
            _wait_http(f"{target.url}/readyz", processes[0], f"{target.name} readiness")
        yield targets, {"mongo_uri": mongo_uri, "home": work}
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def raw_counts(info: dict[str, Any]) -> dict[str, int]:
    import pymongo

    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.raw_store import RawStore
    from tickettrak.common.settings import load_settings

    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(info["mongo_uri"]) as client:
        ferret = int(client["bench"]["raw_exchanges"].count_documents({}))
    embedded = RawStore(open_raw_database(load_settings(home=info["home"] / "embedded")))
    try:
        return {"proxy+ferretdb": ferret, "proxy+embedded": embedded.count()}
    finally:
        embedded.close()


def table(targets: list[Target], counts: dict[str, int]) -> str:
    direct = targets[0].results
    lines = [
        "| target | p50 ms (c=1) | p99 ms (c=1) | added p50 / p99 ms (c=1) | req/s (c={c}) "
        "| p50 / p99 ms (c={c}) | added p50 ms (c={c}) | CPU ms/req proxy / store / sandbox / client "
        "| RAW docs / proxied |".format(c=targets[0].results["throughput"]["concurrency"]),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        lat, thr = target.results["latency"], target.results["throughput"]
        added_p50 = lat["p50_ms"] - direct["latency"]["p50_ms"]
        added_p99 = lat["p99_ms"] - direct["latency"]["p99_ms"]
        added = "—" if target is targets[0] else f"{added_p50:+.2f} / {added_p99:+.2f}"
        added_c = "—" if target is targets[0] else f"{thr['p50_ms'] - direct['throughput']['p50_ms']:+.2f}"
        raw = "—" if target.name not in counts else f"{counts[target.name]} / {target.ok}"
        cpu = " / ".join(
            f"{thr[f'cpu_ms_per_req_{name}']:.2f}" if f"cpu_ms_per_req_{name}" in thr else "—"
            for name in ("proxy", "ferretdb", "sandbox", "client")
        )
        lines.append(
            f"| {target.name} | {lat['p50_ms']:.2f} | {lat['p99_ms']:.2f} | {added} | {thr['rps']:.0f} "
            f"| {thr['p50_ms']:.2f} / {thr['p99_ms']:.2f} | {added_c} | {cpu} | {raw} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, targets: list[Target]) -> None:
    for target in targets:  # warm-up: connections, caches, the sandbox's market model
        await load(target, 100, 4, args.client)
    # Round-robin phases, so a noisy neighbour on the machine hits every target alike.
    for phase, requests, concurrency in (
        ("latency", args.latency_requests, 1),
        ("throughput", args.requests, args.concurrency),
    ):
        for target in targets:
            target.results[phase] = await load(target, requests, concurrency, args.client)
            print(f"  {target.name:16} {phase:10} {json.dumps(target.results[phase])}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per target, throughput phase")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight, throughput phase")
    parser.add_argument("--latency-requests", type=int, default=300, help="sequential requests per target")
    parser.add_argument(
        "--client",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the load generator's HTTP client (aiohttp: ~0.2 ms CPU per request; httpx: ~1.8 ms, "
        "which on 2 cores takes CPU from the processes under test)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tt-proxy-bench-") as tmp, services(Path(tmp)) as (targets, info):
        print(
            f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, client {args.client}",
            file=sys.stderr,
        )
        asyncio.run(run(args, targets))
        time.sleep(0.5)
        counts = raw_counts(info)
        print(table(targets, counts))
        ferret = next(t for t in targets if t.name == "proxy+ferretdb")
        added = ferret.results["latency"]["p50_ms"] - targets[0].results["latency"]["p50_ms"]
        rps = ferret.results["throughput"]["rps"]
        lost = {name: target.ok - counts[name] for name, target in ((t.name, t) for t in targets[1:])}
        print(
            f"\nFerretDB path: added p50 {added:.2f} ms (goal < 5: {'met' if added < 5 else 'NOT met'}), "
            f"{rps:.0f} logged req/s (goal >= 300: {'met' if rps >= 300 else 'NOT met'}); "
            f"RAW documents missing: {lost}"
        )
        if args.json:
            payload = {t.name: t.results for t in targets} | {"raw_counts": counts, "proxied_ok": lost}
            args.json.write_text(json.dumps(payload, indent=2))
        if any(lost.values()):
            raise SystemExit("error: RAW holds fewer documents than proxied requests")


if __name__ == "__main__":
    main()
