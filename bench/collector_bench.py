"""Collector benchmark: how fully does `tickettrak collect` use an endpoint's per-minute limit?

Three real processes on localhost, as on a laptop or in the cluster: the sandbox with
prices_for_dates limited to LIMIT requests/min (it answers 429 above, per wall-clock minute, like
the API), the proxy with the same budget (TICKETTRAK_PROXY_RATE_LIMITS) writing RAW to the
embedded store, and `tickettrak collect` with a routes file whose plan is exactly N one-way
day-by-day prices_for_dates requests and whose limit is LIMIT.

The limit allows N requests in N / LIMIT minutes (1,000 at 600/min: 100 s). Goal: the send phase
takes at most 1.1x that (>= 90 % of the allowed rate) and no 429 reaches the collector's failure
count. Reports the achieved rate, the 429s anywhere, and the most calls the sandbox saw in any
sliding 60 s window (must be <= LIMIT).

    .venv/bin/python bench/collector_bench.py                   # 1,000 requests at 600/min (~105 s)
    .venv/bin/python bench/collector_bench.py --requests 200 --limit 120 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
ENDPOINT = "prices_for_dates"
ORIGINS = ["MOW", "LED", "KZN", "SVX", "AER"]
DESTINATIONS = ["DXB", "AUH", "SHJ", "RKT"]  # 5 x 4 x 2 directions = 40 routes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def routes_config(requests: int, limit: int) -> dict[str, Any]:
    routes = 2 * len(ORIGINS) * len(DESTINATIONS)
    if requests % routes:
        raise SystemExit(f"--requests must be a multiple of {routes} (the benchmark's routes)")
    return {
        "version": 1,
        "routes": {"origins": ORIGINS, "destinations": DESTINATIONS, "both_directions": True},
        "horizon": {"daily_days": requests // routes, "months": 0},
        "trips": {"one_way": True},
        "queries": [{"endpoint": ENDPOINT, "trips": ["one_way"], "departures": ["daily"]}],
        "limits": {ENDPOINT: limit},
    }


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    env.update(TICKETTRAK_HOME=str(home), TICKETTRAK_LOG_FORMAT="json", TICKETTRAK_LOG_LEVEL="WARNING")
    return env


def start(args: list[str], env: dict[str, str], log: Path, ready_url: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen([TICKETTRAK, *args], stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{args[0]} exited at start:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(ready_url, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{args[0]} did not start:\n{log.read_text()[-2000:]}")


def summary_from(output: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        if line.startswith("{") and '"collect.summary"' in line:
            parsed: dict[str, Any] = json.loads(line)
            return parsed
    raise SystemExit(f"no collect.summary line in the collector's output:\n{output[-3000:]}")


def run(requests: int, limit: int, workdir: Path) -> dict[str, Any]:
    home = workdir / "home"
    sandbox_port, proxy_port = free_port(), free_port()
    sandbox_url, proxy_url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{proxy_port}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(
            start(
                ["sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port), "--log-level", "warning",
                 "--rate-limit", f"{ENDPOINT}={limit}"],
                clean_env(home), workdir / "sandbox.log", sandbox_url + "/__sandbox/stats",
            )
        )  # fmt: skip
        proxy_env = {
            **clean_env(home),
            "TICKETTRAK_AVIASALES_BASE_URL": sandbox_url,
            "TICKETTRAK_PROXY_RATE_LIMITS": json.dumps({ENDPOINT: limit}),
        }
        processes.append(
            start(
                ["proxy", "--host", "127.0.0.1", "--port", str(proxy_port)],
                proxy_env, workdir / "proxy.log", proxy_url + "/healthz",
            )
        )  # fmt: skip
        routes = workdir / "routes.yaml"
        routes.write_text(yaml.safe_dump(routes_config(requests, limit)))
        logical_date = datetime.now(UTC).date().isoformat()
        started = time.monotonic()
        collect = subprocess.run(
            [TICKETTRAK, "collect", "--no-progress", "--logical-date", logical_date, "--routes", str(routes),
             "--run-id", "collector-bench"],
            env={**clean_env(home), "TICKETTRAK_PROXY_URL": proxy_url, "TICKETTRAK_LOG_LEVEL": "INFO"},
            capture_output=True, text=True, timeout=requests * 60 / limit * 3 + 120, check=False,
        )  # fmt: skip
        wall = time.monotonic() - started
        summary = summary_from(collect.stdout + collect.stderr)
        stats = httpx.get(sandbox_url + "/__sandbox/stats", timeout=10).json()
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)

    allowed_s = requests * 60 / limit
    sandbox_counts = stats["by_endpoint"].get(ENDPOINT, {})
    rate = summary["rates"][ENDPOINT]["achieved_per_minute"]
    return {
        "requests": requests,
        "limit_per_minute": limit,
        "exit_code": collect.returncode,
        "succeeded": summary["succeeded"],
        "failed_by_reason": summary["failed_by_reason"],
        "retries_by_reason": summary["retries_by_reason"],
        "send_phase_s": summary["duration_s"],
        "process_wall_s": round(wall, 2),
        "allowed_s": round(allowed_s, 2),
        "ratio_to_allowed": round(summary["duration_s"] / allowed_s, 4),
        "achieved_per_minute": rate,
        "share_of_limit": round(rate / limit, 4) if rate else None,
        "http_429_failures": summary["failed_by_reason"].get("http_429", 0),
        "http_429_retries": summary["retries_by_reason"].get("http_429", 0),
        "sandbox_calls": sum(sandbox_counts.values()),
        "sandbox_429": sandbox_counts.get("429", 0),
        "sandbox_max_per_60s": stats["max_per_60s"].get(ENDPOINT),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=600, help="per-minute limit (sandbox, proxy, collector)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        result = run(args.requests, args.limit, Path(tmp))
    print(json.dumps(result, indent=2))
    ok = (
        result["exit_code"] == 0
        and result["succeeded"] == args.requests
        and result["ratio_to_allowed"] <= 1.1
        and result["http_429_failures"] == 0
        and result["sandbox_max_per_60s"] <= args.limit
    )
    print(
        f"\n| {result['requests']} requests at {args.limit}/min | {result['send_phase_s']:.1f} s "
        f"(allowed {result['allowed_s']:.0f} s, x{result['ratio_to_allowed']:.3f}) | "
        f"{result['achieved_per_minute']:.0f}/min = {result['share_of_limit']:.1%} of the limit | "
        f"429: {result['http_429_failures']} failed, {result['http_429_retries']} retried, "
        f"{result['sandbox_429']} at the sandbox | max {result['sandbox_max_per_60s']} in any 60 s | "
        f"{'PASS' if ok else 'FAIL'} |"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
