"""Benchmark: full dbt build vs an incremental build after one more observation day.

For each size (~1M and ~5M price observations by default) in a fresh database on the embedded
PostgreSQL: generate a synthetic history inside PostgreSQL (generate_series, the same generator
the dbt tests use), build everything from scratch, add one observation day, build again
(incremental; three times, one more day each, the median reported), and time both, side by
side (between them, untimed, VACUUM ANALYZE: see --no-settle): the whole `dbt build` (models +
data tests + unit tests, what `tickettrak transform` runs, with its threads) and, from dbt's
run_results.json, the models' and the tests' own execution times. Last, one more build with
nothing new: the floor (dbt's start and its fixed cost per node), which no incremental model can
go below.

    .venv/bin/python bench/dbt_bench.py                 # 1M and 5M
    .venv/bin/python bench/dbt_bench.py --sizes 200000  # a quick look
    git archive <rev> jobs/dbt_runner/dbt | tar -x -C /tmp/old
    .venv/bin/python bench/dbt_bench.py --compare /tmp/old/jobs/dbt_runner/dbt  # old vs new

With --compare, each size's history is generated once and copied (CREATE DATABASE ... TEMPLATE)
into one database per project; the builds are interleaved on the same machine at the same time
(full: old then new; incremental run i: the same new day added to both, then old and new, the
order alternating between runs), so a shared machine's load falls on both alike.

Goal (issue 6): the incremental build takes at most 10% of the full build.
Peak memory (issue 10): while each build runs, a thread samples every 0.2 s (psutil) the RSS of
the dbt process tree (dbt runs in this process, as in `tickettrak transform`: the bench's own
process and any children) and the memory of the PostgreSQL server (postmaster and every backend
and worker): the sum of their PSS (proportional set size: shared buffers counted once, split
between the processes that map them; the sum of RSS would count them once per backend).
Results: printed as Markdown tables and written to .bench/dbt_bench.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import threading
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
    nodes: int = 0  # models, seeds, data tests and unit tests dbt ran
    dbt_peak_rss_mb: float = 0.0  # the dbt process tree (this process: dbt runs in it)
    dbt_start_rss_mb: float = 0.0  # ... before the build (Python, dbt's imports, the manifest)
    postgres_peak_pss_mb: float = 0.0  # the PostgreSQL server's processes, PSS summed
    postgres_peak_processes: int = 0
    load_average: float = 0.0  # the machine's 1-minute load average when the build ended


class PeakMemory:
    """Samples, every `interval` s on a thread, the RSS of this process tree and the summed PSS of
    the PostgreSQL server's processes; keeps the peaks. Processes that end between two samples
    are skipped (a sample can miss a peak shorter than the interval)."""

    def __init__(self, postgres_pid: int, interval: float = 0.2) -> None:
        import psutil  # type: ignore[import-untyped]

        self._psutil = psutil
        self._me = psutil.Process(os.getpid())
        self._postmaster = psutil.Process(postgres_pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        self.start_rss = self._tree_rss()
        self.dbt_peak_rss = self.start_rss
        self.postgres_peak_pss = 0
        self.postgres_peak_processes = 0

    def _tree_rss(self) -> int:
        total = 0
        for process in [self._me, *self._me.children(recursive=True)]:
            with contextlib.suppress(self._psutil.Error):
                total += process.memory_info().rss
        return total

    def _postgres_pss(self) -> tuple[int, int]:
        total, count = 0, 0
        for process in [self._postmaster, *self._postmaster.children(recursive=True)]:
            with contextlib.suppress(self._psutil.Error):
                total += process.memory_full_info().pss
                count += 1
        return total, count

    def _sample(self) -> None:
        self.dbt_peak_rss = max(self.dbt_peak_rss, self._tree_rss())
        pss, count = self._postgres_pss()
        if pss > self.postgres_peak_pss:
            self.postgres_peak_pss, self.postgres_peak_processes = pss, count

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


@dataclass
class Measurement:
    project: str  # "new" (the repository's) or "old" (--compare)
    observations: int
    days: int
    full: Build
    incrementals: list[Build]  # one more observation day each, one after the other
    floor: Build  # a build with nothing new: dbt's fixed cost (parse-free start, every node)

    @property
    def incremental(self) -> Build:
        """The run with the median wall time (the machine is shared: single runs are noisy)."""
        ordered = sorted(self.incrementals, key=lambda build: build.wall_s)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def ratio(self) -> float:
        return self.incremental.wall_s / self.full.wall_s

    @property
    def models_ratio(self) -> float:
        return self.incremental.models_s / self.full.models_s

    @property
    def rows_per_s(self) -> float:
        return self.observations / self.full.wall_s


def _dbt(
    command: list[str],
    dsn: str,
    workspace_dir: Path,
    project: Path,
    quiet: bool,
    postgres_pid: int | None = None,
    threads: int | None = None,
) -> Build:
    from tickettrak.dbt_runner.profile import profile_from_dsn
    from tickettrak.dbt_runner.runner import DbtWorkspace, run_dbt

    # The profile's default threads (what `tickettrak transform` uses) unless --threads says.
    profile = profile_from_dsn(dsn) if threads is None else profile_from_dsn(dsn, threads)
    memory = PeakMemory(postgres_pid) if postgres_pid else None
    sink = io.StringIO()
    started = time.perf_counter()
    with (
        memory or contextlib.nullcontext(),
        contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext(),
    ):
        outcome = run_dbt(command, profile, DbtWorkspace(workspace_dir), project=project)
    elapsed = time.perf_counter() - started
    if not outcome.success:
        raise SystemExit(f"{' '.join(command)} failed: {outcome.reason()}\n{sink.getvalue()[-3000:]}")
    run_results = workspace_dir / "target" / "run_results.json"
    results = json.loads(run_results.read_text())["results"] if command[0] == "build" else []
    models = sum(r["execution_time"] for r in results if r["unique_id"].startswith("model."))
    tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith(("test.", "unit_test.")))
    mb = 1024 * 1024
    return Build(
        elapsed,
        models,
        tests,
        nodes=len(results),
        dbt_peak_rss_mb=memory.dbt_peak_rss / mb if memory else 0.0,
        dbt_start_rss_mb=memory.start_rss / mb if memory else 0.0,
        postgres_peak_pss_mb=memory.postgres_peak_pss / mb if memory else 0.0,
        postgres_peak_processes=memory.postgres_peak_processes if memory else 0,
        load_average=os.getloadavg()[0],
    )


def measure(
    server: Any,
    size: int,
    workdir: Path,
    projects: dict[str, Path],
    quiet: bool,
    incremental_runs: int,
    settle: bool,
    threads: dict[str, int | None],
) -> list[Measurement]:
    """One history of `size` observations, copied for each project; the builds interleaved."""
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
    source = f"bench_{size}"
    names = {label: f"bench_{size}_{label}" for label in projects}

    def admin(*statements: str) -> None:
        with psycopg.connect(str(server.get_uri("postgres")), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def add_day(name: str, offset: int) -> None:
        with psycopg.connect(str(server.get_uri(name)), autocommit=True) as conn:
            day = history.first_observed + timedelta(days=offset)
            conn.execute(insert_days_sql(history, day, 1).encode())

    admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in [source, *names.values()]))
    admin(f'CREATE DATABASE "{source}"')
    print(f"[{size:,}] generating {days} observation days ...", file=sys.stderr)
    started = time.perf_counter()
    with psycopg.connect(str(server.get_uri(source)), autocommit=True) as conn:
        migrate(conn)
    for offset in range(days):
        add_day(source, offset)
    with psycopg.connect(str(server.get_uri(source)), autocommit=True) as conn:
        conn.execute(b"VACUUM ANALYZE")
        rows = conn.execute(b"select count(*) from aviasales.tickets").fetchone()
    observations = int(rows[0]) if rows else 0
    # The same rows for every project: copies of the generated database.
    admin(*(f'CREATE DATABASE "{name}" TEMPLATE "{source}"' for name in names.values()))
    admin(f'DROP DATABASE "{source}"')
    print(f"[{size:,}] {observations:,} rows in {time.perf_counter() - started:.0f}s", file=sys.stderr)

    postgres_pid = server.get_pid()

    def build(label: str, command: list[str], memory: bool = True) -> Build:
        name = names[label]
        return _dbt(
            command,
            str(server.get_uri(name)),
            workdir / name,
            projects[label],
            quiet,
            postgres_pid if memory else None,
            threads[label],
        )

    fulls: dict[str, Build] = {}
    for label in projects:
        build(label, ["parse"], memory=False)  # the same for both builds: kept out of the timings
    for label in projects:
        fulls[label] = build(label, ["build", "--full-refresh"])
        print(f"[{size:,}] {label}: full build {fulls[label]}", file=sys.stderr)
    if settle:
        # Not timed. The full refresh has just written every table: autovacuum would now vacuum
        # them all (GBs at 5M rows) while the incremental build runs, on a shared 2-core machine.
        # A daily run meets tables vacuumed long ago: do it now, outside the measurement.
        for name in names.values():
            with psycopg.connect(str(server.get_uri(name)), autocommit=True) as conn:
                conn.execute(b"VACUUM ANALYZE")
    incrementals: dict[str, list[Build]] = {label: [] for label in projects}
    for run in range(incremental_runs):
        order = list(projects) if run % 2 == 0 else list(reversed(projects))
        for label in order:
            add_day(names[label], days + run)
        for label in order:
            incrementals[label].append(build(label, ["build"]))
            # Kept for a look at the nodes' own times (run_results.json is rewritten by every run).
            workspace = workdir / names[label]
            shutil.copy(
                workspace / "target" / "run_results.json",
                workspace / f"run_results_incremental_{run + 1}.json",
            )
            print(f"[{size:,}] {label}: incremental build {incrementals[label][-1]}", file=sys.stderr)

    # The floor: the same build with no new day. What no incremental model can go below.
    floors = {label: build(label, ["build"]) for label in projects}
    for label in projects:
        print(f"[{size:,}] {label}: build with nothing new {floors[label]}", file=sys.stderr)

    admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names.values()))
    return [
        Measurement(label, observations, days, fulls[label], incrementals[label], floors[label])
        for label in projects
    ]


def print_tables(results: list[Measurement]) -> None:
    print(
        "| project | observations | days | full build | rows/s (full) "
        "| incremental build (+1 day, median of n) | ratio | nothing new (floor) | ratio "
        "| models only: full | incremental | ratio | tests: full | incremental | nodes | load avg |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        inc = r.incremental
        runs = ", ".join(f"{b.wall_s:.1f}" for b in r.incrementals)
        loads = sorted({round(b.load_average, 1) for b in [r.full, *r.incrementals, r.floor]})
        print(
            f"| {r.project} | {r.observations:,} | {r.days} | {r.full.wall_s:.1f} s | {r.rows_per_s:,.0f} "
            f"| {inc.wall_s:.1f} s (n={len(r.incrementals)}: {runs}) | {r.ratio:.1%} "
            f"| {r.floor.wall_s:.1f} s | {r.floor.wall_s / r.full.wall_s:.1%} "
            f"| {r.full.models_s:.1f} s | {inc.models_s:.1f} s | {r.models_ratio:.1%} "
            f"| {r.full.tests_s:.1f} s | {inc.tests_s:.1f} s | {inc.nodes} | {loads[0]}-{loads[-1]} |"
        )
    print()
    print(
        "| project | observations | dbt process peak RSS: full | incremental | (at start) "
        "| PostgreSQL peak PSS: full | incremental |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        inc_dbt = max(b.dbt_peak_rss_mb for b in r.incrementals)
        inc_pg = max(b.postgres_peak_pss_mb for b in r.incrementals)
        print(
            f"| {r.project} | {r.observations:,} | {r.full.dbt_peak_rss_mb:.0f} MB | {inc_dbt:.0f} MB "
            f"| {r.full.dbt_start_rss_mb:.0f} MB | {r.full.postgres_peak_pss_mb:.0f} MB "
            f"({r.full.postgres_peak_processes} processes) | {inc_pg:.0f} MB |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--workdir", type=Path, default=REPO / ".bench" / "dbt")
    parser.add_argument(
        "--incremental-runs",
        type=int,
        default=3,
        help="incremental builds after the full one, one more day each; the median is reported",
    )
    parser.add_argument(
        "--no-settle",
        dest="settle",
        action="store_false",
        help="start the incremental builds right after the full one (autovacuum of the rewritten "
        "tables then runs during them); by default VACUUM ANALYZE first, untimed",
    )
    parser.add_argument(
        "--project",
        type=Path,
        help="the dbt project to measure (default: the repository's), e.g. an older revision's "
        "exported with `git archive` to compare before and after a change",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        metavar="OLD_PROJECT",
        help="also measure this dbt project (e.g. an older revision's, exported with `git archive`) "
        "on a copy of the same data, its builds interleaved with the measured project's",
    )
    parser.add_argument(
        "--threads", type=int, help="dbt threads (default: the profile's, what `tickettrak transform` uses)"
    )
    parser.add_argument(
        "--compare-threads",
        type=int,
        help="dbt threads for the --compare project (default: as --threads); with --compare set to "
        "the same project, this compares thread counts",
    )
    parser.add_argument("--verbose", action="store_true", help="show dbt's output")
    args = parser.parse_args()

    from tickettrak.common.embedded.postgres import start_embedded
    from tickettrak.dbt_runner.project import project_dir

    os.environ.setdefault("DO_NOT_TRACK", "1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    # Snapshots: edits to the repository during a long run do not leak in.
    sources = {"new": args.project or project_dir()}
    if args.compare:
        sources = {"old": args.compare, **sources}
    projects = {}
    for label, source in sources.items():
        projects[label] = args.workdir / f"project_{label}"
        shutil.rmtree(projects[label], ignore_errors=True)
        shutil.copytree(source, projects[label])
    server = start_embedded(args.workdir / "postgres")
    try:
        results = [
            measurement
            for size in args.sizes
            for measurement in measure(
                server,
                size,
                args.workdir,
                projects,
                not args.verbose,
                args.incremental_runs,
                args.settle,
                {"new": args.threads, "old": args.compare_threads or args.threads},
            )
        ]
    finally:
        server.cleanup()

    print_tables(results)
    report = [
        asdict(r) | {"incremental": asdict(r.incremental), "ratio": r.ratio, "models_ratio": r.models_ratio}
        for r in results
    ]
    (args.workdir.parent / "dbt_bench.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
