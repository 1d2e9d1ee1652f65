"""Benchmark: full dbt build vs an incremental build after one more observation day.

For each size (~1M and ~5M price observations by default) in a fresh database on the embedded
PostgreSQL: generate a synthetic history inside PostgreSQL (generate_series, the same generator
the dbt tests use), build everything from scratch, add one observation day, build again
(incremental), and time both, side by side: the whole `dbt build` (models + data tests + unit
tests, what `tickettrak transform` runs) and, from dbt's run_results.json, the models' and the
tests' own execution times.

    .venv/bin/python bench/dbt_bench.py                 # 1M and 5M
    .venv/bin/python bench/dbt_bench.py --sizes 200000  # a quick look

Goal (issue 6): the incremental build takes at most 10% of the full build.
Results: printed as a Markdown table and written to .bench/dbt_bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the synthetic generator lives with the dbt tests

from tests.integration.dbt.synthetic import History, insert_days_sql  # noqa: E402

# A realistic daily collection: 6 routes x 90 departure dates x 30 offers = 16,200 rows a day.
ROUTES, HORIZON, OFFERS = 6, 90, 30


@dataclass
class Build:
    wall_s: float  # the whole `dbt build`, as `tickettrak transform` runs it
    models_s: float  # sum of the models' execution times (run_results.json)
    tests_s: float  # sum of the data tests' and unit tests' execution times


@dataclass
class Measurement:
    observations: int
    days: int
    full: Build
    incremental: Build

    @property
    def ratio(self) -> float:
        return self.incremental.wall_s / self.full.wall_s

    @property
    def models_ratio(self) -> float:
        return self.incremental.models_s / self.full.models_s


def _dbt(command: list[str], dsn: str, workspace_dir: Path, quiet: bool) -> Build:
    project = workspace_dir.parent / "project"  # a snapshot: edits during a long run do not leak in
    from tickettrak.dbt_runner.profile import profile_from_dsn
    from tickettrak.dbt_runner.runner import DbtWorkspace, run_dbt

    started = time.perf_counter()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        outcome = run_dbt(
            command, profile_from_dsn(dsn, threads=2), DbtWorkspace(workspace_dir), project=project
        )
    elapsed = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit(f"{' '.join(command)} failed: {outcome.reason()}\n{sink.getvalue()[-3000:]}")
    run_results = workspace_dir / "target" / "run_results.json"
    results = json.loads(run_results.read_text())["results"] if command[0] == "build" else []
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith("model."))
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("test.", "unit_test.")))
    return Build(elapsed, models, tests)


def measure(server: Any, size: int, workdir: Path, quiet: bool) -> Measurement:
    import psycopg

    from tickettrak.loader.schema import migrate

    days = max(2, round(size / (ROUTES * HORIZON * OFFERS)))
    history = History(
        observation_days=days,
        horizon_days=HORIZON,
        offers_per_departure=OFFERS,
        routes=ROUTES,
        cheapest_days=45,
    )
    name = f"bench_{size}"
    with psycopg.connect(str(server.get_uri("postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    dsn = str(server.get_uri(name))

    def add_day(offset: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            day = history.first_observed + timedelta(days=offset)
            conn.execute(insert_days_sql(history, day, 1).encode())

    print(f"[{size:,}] generating {days} observation days ...", file=sys.stderr)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
    for offset in range(days):
        add_day(offset)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(b"VACUUM ANALYZE")
        rows = conn.execute(b"select count(*) from aviasales.tickets").fetchone()
    observations = int(rows[0]) if rows else 0
    print(f"[{size:,}] {observations:,} rows in {time.perf_counter() - started:.0f}s", file=sys.stderr)

    workspace = workdir / name
    _dbt(["parse"], dsn, workspace, quiet)  # parsing is the same for both: keep it out of the timings
    full = _dbt(["build", "--full-refresh"], dsn, workspace, quiet)
    print(f"[{size:,}] full build {full}", file=sys.stderr)
    add_day(days)
    incremental = _dbt(["build"], dsn, workspace, quiet)
    print(f"[{size:,}] incremental build {incremental}", file=sys.stderr)

    with psycopg.connect(str(server.get_uri("postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    return Measurement(observations, days, full, incremental)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "dbt")
    parser.add_argument("--verbose", action="store_true", help="show dbt's output")
    args = parser.parse_args()

    from tickettrak.common.embedded.postgres import start_embedded
    from tickettrak.dbt_runner.project import project_dir

    os.environ.setdefault("DO_NOT_TRACK", "1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.workdir / "project", ignore_errors=True)
    shutil.copytree(project_dir(), args.workdir / "project")
    server = start_embedded(args.workdir / "postgres")
    try:
        results = [measure(server, size, args.workdir, quiet=not args.verbose) for size in args.sizes]
    finally:
        server.cleanup()

    print(
        "| observations | days | full build | incremental build (+1 day) | ratio "
        "| models only: full | incremental | ratio | tests: full | incremental |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.observations:,} | {r.days} | {r.full.wall_s:.1f} s | {r.incremental.wall_s:.1f} s | "
            f"{r.ratio:.1%} | {r.full.models_s:.1f} s | {r.incremental.models_s:.1f} s | "
            f"{r.models_ratio:.1%} | {r.full.tests_s:.1f} s | {r.incremental.tests_s:.1f} s |"
        )
    report = [asdict(r) | {"ratio": r.ratio, "models_ratio": r.models_ratio} for r in results]
    (args.workdir.parent / "dbt_bench.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
