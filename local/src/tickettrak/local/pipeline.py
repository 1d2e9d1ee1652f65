"""`tickettrak run`: the whole pipeline on a laptop, stage by stage, through the stages' own CLIs.

1. Embedded PostgreSQL (unless TICKETTRAK_POSTGRES_DSN) and the embedded RAW store (unless
   TICKETTRAK_MONGO_URI) under TICKETTRAK_HOME.
2. Without a token: the sandbox as a local process; the proxy as a local process in front of the
   sandbox (or of the real API when a token is set).
3. collect for each observation day (sandbox: a history of `days` days through its as-of clock;
   real API: today only), then load, transform, report.
Every child's output goes to a log file under $TICKETTRAK_HOME/logs/<run>/; a failure names the
stage, the reason (the child's last line) and the log.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tickettrak.common.embedded.postgres import open_postgres
from tickettrak.common.endpoints import ENDPOINTS
from tickettrak.common.settings import Settings
from tickettrak.local.processes import Service, start_service, tickettrak_executable


class StageError(RuntimeError):
    def __init__(self, stage: str, reason: str, log_path: Path) -> None:
        super().__init__(f"stage '{stage}' failed: {reason} (log: {log_path})")
        self.stage, self.reason, self.log_path = stage, reason, log_path


@dataclass
class RunOptions:
    days: int = 60
    end_date: date | None = None
    routes: Path | None = None
    report_path: Path | None = None
    upstream_speedup: int = 10  # sandbox only: its simulated per-minute limits, scaled
    parallel_days: int = 3  # observation days collected at once


@dataclass
class RunResult:
    observation_days: list[date]
    report_path: Path
    log_dir: Path
    durations: dict[str, float] = field(default_factory=dict)


def observation_days(settings: Settings, options: RunOptions) -> list[date]:
    """The logical dates to collect: a simulated history on the sandbox, today on the real API."""
    today = datetime.now(UTC).date()
    if not settings.uses_sandbox:
        return [today]
    end = options.end_date or today
    return [end - timedelta(days=offset) for offset in range(options.days - 1, -1, -1)]


def _last_line(log_path: Path) -> str:
    try:
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    return lines[-1][-500:] if lines else "no output"


def run_stage(name: str, args: list[str], env: dict[str, str], log_dir: Path, log_name: str = "") -> None:
    """Run one `tickettrak` subcommand as a child process; raise StageError with its last line."""
    log_path = log_dir / f"{log_name or name}.log"
    with log_path.open("ab") as log:
        log.write(f"\n$ tickettrak {' '.join(args)}\n".encode())
        log.flush()
        code = subprocess.call(
            [tickettrak_executable(), *args], stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    if code != 0:
        raise StageError(name, _last_line(log_path), log_path)


@contextmanager
def local_services(settings: Settings, log_dir: Path, options: RunOptions) -> Iterator[dict[str, str]]:
    """Start PostgreSQL, the sandbox (no token) and the proxy; yield the env every stage gets."""
    with ExitStack() as stack:
        dsn = stack.enter_context(open_postgres(settings))
        env = {"TICKETTRAK_POSTGRES_DSN": dsn, "TICKETTRAK_HOME": str(settings.home_dir)}
        if settings.uses_sandbox:
            sandbox = start_service(
                "sandbox",
                ["sandbox", "--rate-limit-scale", str(options.upstream_speedup)],
                env,
                log_dir,
                ready_path="/__sandbox/stats",
            )
            stack.callback(sandbox.stop)
            env["TICKETTRAK_AVIASALES_BASE_URL"] = sandbox.url
        proxy_env = dict(env)
        if settings.uses_sandbox:
            # The simulated API is ours: scale its limits, and the proxy's budget with them.
            proxy_env["TICKETTRAK_PROXY_RATE_LIMITS"] = json.dumps(
                {e.name: int(e.per_minute * 0.95 * options.upstream_speedup) for e in ENDPOINTS.values()}
            )
        proxy: Service = start_service("proxy", ["proxy"], proxy_env, log_dir, ready_path="/healthz")
        stack.callback(proxy.stop)
        env["TICKETTRAK_PROXY_URL"] = proxy.url
        yield env


def run_pipeline(settings: Settings, options: RunOptions, console: Console) -> RunResult:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = settings.home_dir / "logs" / f"run-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    report_path = options.report_path or settings.home_dir / "reports" / "report.html"
    days = observation_days(settings, options)
    result = RunResult(days, report_path, log_dir)

    progress = Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with progress, local_services(settings, log_dir, options) as env:
        started = time.monotonic()
        task = progress.add_task(f"collect {len(days)} day(s)", total=len(days))

        def collect(day: date) -> date:
            args = ["collect", "--logical-date", day.isoformat(), "--run-id", f"local__{day.isoformat()}"]
            if settings.uses_sandbox:
                # The days collected at once share the proxy's (scaled) budget.
                scale = options.upstream_speedup / options.parallel_days
                args += ["--rate-limit-scale", f"{scale:g}", "--no-progress"]
            if options.routes:
                args += ["--routes", str(options.routes)]
            run_stage("collect", args, env, log_dir, log_name=f"collect-{day.isoformat()}")
            return day

        # Observation days are independent runs (like Airflow's backfill): a few at once keep
        # the proxy busy while each child process starts up. The proxy enforces the limits.
        with ThreadPoolExecutor(max_workers=options.parallel_days) as pool:
            for day in pool.map(collect, days):
                progress.advance(task)
                if not console.is_terminal:
                    console.print(f"collected {day.isoformat()}")
        result.durations["collect"] = time.monotonic() - started

        for name, args in (
            ("load", ["load"]),
            ("transform", ["transform"]),
            ("report", ["report", "--output", str(report_path), "--no-terminal"]),
        ):
            started = time.monotonic()
            task = progress.add_task(name, total=1)
            run_stage(name, args, env, log_dir)
            progress.advance(task)
            result.durations[name] = time.monotonic() - started
            if not console.is_terminal:
                console.print(f"{name} done in {result.durations[name]:.1f}s")
    return result
