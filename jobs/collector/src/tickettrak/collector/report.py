"""What `collect` prints: the plan's counts (--dry-run) and the run's summary (stdout)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from rich.console import Console
from rich.table import Table

from tickettrak.collector.outcomes import RunSummary
from tickettrak.collector.plan import PlannedRequest


def print_plan(plan: list[PlannedRequest], logical_date: date, console: Console | None = None) -> None:
    console = console or Console(width=200)
    endpoints = sorted({r.endpoint for r in plan})
    by_cell = Counter((r.route, r.endpoint) for r in plan)
    routes = sorted({r.route for r in plan})
    console.print(f"request plan for {logical_date.isoformat()}: {len(plan)} requests")
    table = Table()
    table.add_column("route")
    for endpoint in endpoints:
        table.add_column(endpoint, justify="right")
    table.add_column("total", justify="right")
    for route in routes:
        cells = [by_cell[(route, e)] for e in endpoints]
        table.add_row(route, *map(str, cells), str(sum(cells)))
    by_endpoint = Counter(r.endpoint for r in plan)
    table.add_row("total", *(str(by_endpoint[e]) for e in endpoints), str(len(plan)), style="bold")
    console.print(table)
    trips = Counter(r.trip for r in plan)
    console.print("by trip: " + ", ".join(f"{t} {n}" for t, n in sorted(trips.items())))
    if plan:
        first = min(r.departure for r in plan)
        last = max(r.departure for r in plan)
        console.print(f"departures from {first} to {last}")


def print_summary(summary: RunSummary, logical_date: date, run_id: str) -> None:
    print(f"collect {logical_date.isoformat()} (run {run_id})")
    for line in summary.lines():
        print(f"  {line}")
