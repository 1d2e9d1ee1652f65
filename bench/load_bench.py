"""Load benchmark (issue 10): the proxy under bounded load from this (second) process, RAW on FerretDB.

Reuses bench/proxy_bench.py's services (the sandbox without rate limits, FerretDB with its SQLite
backend, a `tickettrak proxy` writing RAW to it, each its own process on 127.0.0.1). Then, for each
concurrency in --levels, sends requests for --seconds (default 60 s split evenly over the levels,
every loop bounded in time and count), and reports throughput, p50/p99 latency, the error rate,
and the proof that RAW documents == successful proxied requests (per level: the RAW count before
and after the level, compared with the 200s the client received).

    .venv/bin/python bench/load_bench.py                         # 60 s over concurrency 1,4,16,64
    .venv/bin/python bench/load_bench.py --seconds 120 --levels 1,8,32,128 --json /tmp/load.json

The loader and dbt sizes (10k/100k/1M tickets): bench/loader_bench.py and bench/dbt_bench.py
(`make bench-load` runs all three).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import proxy_bench  # the services and the query generator, not rewritten

MAX_REQUESTS_PER_LEVEL = 200_000  # a hard bound, whatever the clock does


async def level(url: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """`concurrency` workers, each sending one request after another until `seconds` passed."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    source = proxy_bench.queries()
    stop_at = time.perf_counter() + seconds
    # aiohttp: ~0.2 ms CPU per request in this client (httpx took ~1.8 ms, CPU that the proxy,
    # FerretDB and the sandbox need on a 2-core machine).
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        headers=proxy_bench.RUN_HEADERS, connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as client:
        target = url + proxy_bench.PATH

        async def worker() -> None:
            while time.perf_counter() < stop_at and len(latencies) < MAX_REQUESTS_PER_LEVEL:
                started = time.perf_counter()
                try:
                    async with client.get(target, params=next(source)) as response:
                        await response.read()
                        key = str(response.status)
                except (aiohttp.ClientError, TimeoutError) as error:
                    key = type(error).__name__
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[key] = statuses.get(key, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    total = len(latencies)
    ok = statuses.get("200", 0)
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "requests": total,
        "ok": ok,
        "rps": total / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": proxy_bench._percentile(latencies, 0.99),
        "error_rate": (total - ok) / total if total else 0.0,
        "statuses": statuses,
    }


def ferretdb_count(mongo_uri: str) -> int:
    import pymongo

    client: pymongo.MongoClient[dict[str, Any]]
    with pymongo.MongoClient(mongo_uri) as client:
        return int(client["bench"]["raw_exchanges"].count_documents({}))


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| concurrency | seconds | requests | req/s | p50 ms | p99 ms | error rate | RAW docs / 200s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['concurrency']} | {r['seconds']} | {r['requests']} | {r['rps']:.0f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['error_rate']:.2%} | {r['raw_docs']} / {r['ok']} |"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace, url: str, mongo_uri: str) -> list[dict[str, Any]]:
    levels = [int(c) for c in args.levels.split(",")]
    await level(url, 4, 2.0)  # warm-up (connections, the sandbox's market model)
    results = []
    for concurrency in levels:
        before = ferretdb_count(mongo_uri)
        result = await level(url, concurrency, args.seconds / len(levels))
        await asyncio.sleep(1.0)  # the proxy's RAW writer flushes its last batch
        result["raw_docs"] = ferretdb_count(mongo_uri) - before
        print(f"  {json.dumps(result)}", file=sys.stderr)
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="total load time, split over the levels")
    parser.add_argument("--levels", default="1,4,16,64", help="concurrency levels, comma-separated")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="tt-load-bench-") as tmp,
        proxy_bench.services(Path(tmp)) as (targets, info),
    ):
        proxied = next(t for t in targets if t.name == "proxy+ferretdb")
        results = asyncio.run(run(args, proxied.url, info["mongo_uri"]))
    print(table(results))
    # every 200 the clients got is a RAW document (the proxy also records upstream failures, so
    # RAW may hold more than the 200s, never fewer)
    short = [r for r in results if r["raw_docs"] < r["ok"]]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if short:
        raise SystemExit(f"error: fewer RAW documents than successful requests: {short}")


if __name__ == "__main__":
    main()
