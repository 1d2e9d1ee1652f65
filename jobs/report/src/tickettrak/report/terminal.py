"""The terminal summary: a few rich tables for people who live in the shell."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from rich.console import Console
from rich.table import Table

from tickettrak.report import fmt
from tickettrak.report.data import ReportData
from tickettrak.report.html import weighted_avg
from tickettrak.report.marts import Row


def print_summary(data: ReportData, console: Console, limit: int = 12) -> None:
    cov = data.coverage
    if not cov.observation_days and not data.avg_price:
        console.print("[bold]TicketTrak[/bold]: the marts are empty (run collect, load and transform first).")
        return
    console.print(
        f"[bold]TicketTrak[/bold]: {cov.routes} routes, {cov.observation_days} observation days "
        f"({cov.first_observed} – {cov.last_observed}), {fmt.count(cov.observations)} price observations, "
        f"prices in {data.currency}"
    )
    console.print(_avg_table(data))
    console.print(_best_time_table(data))
    console.print(_deals_table(data, limit))


def _avg_table(data: ReportData) -> Table:
    table = Table(
        title=f"Average price by route ({data.currency}, all departure months)", title_justify="left"
    )
    for name in ("route", "trip", "average", "cheapest", "direct", "with stops", "offers"):
        table.add_column(name, justify="left" if name in ("route", "trip") else "right")
    groups: dict[tuple[str, str, str], dict[str, list[Row]]] = defaultdict(lambda: defaultdict(list))
    for r in data.avg_price:
        if r["airline"] == "ALL":
            groups[(r["origin"], r["destination"], r["trip_type"])][r["stops"]].append(r)
    for (origin, destination, trip), by_stops in sorted(groups.items()):
        rows = by_stops.get("all", [])
        if not rows:
            continue
        direct, stops = weighted_avg(by_stops.get("direct", [])), weighted_avg(by_stops.get("with_stops", []))
        table.add_row(
            fmt.route(origin, destination),
            fmt.TRIP_LABEL[trip],
            fmt.price(weighted_avg(rows)),
            fmt.price(min(r["min_price"] for r in rows)),
            fmt.price(direct),
            fmt.price(stops),
            fmt.count(sum(int(r["offers_count"]) for r in rows)),
        )
    return table


def _best_time_table(data: ReportData) -> Table:
    table = Table(title="Best time to buy (median price ÷ the departure's best price)", title_justify="left")
    for name in ("route", "trip", "best window", "median there", "worst window", "median there"):
        table.add_column(name, justify="right" if name == "median there" else "left")
    groups: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for r in data.best_time:
        groups[(r["origin"], r["destination"], r["trip_type"])].append(r)
    for (origin, destination, trip), rows in sorted(groups.items()):
        best = next((r for r in rows if r["is_best_bucket"]), None)
        worst = max(rows, key=lambda r: r["median_relative_price"])
        table.add_row(
            fmt.route(origin, destination),
            fmt.TRIP_LABEL[trip],
            f"{best['days_bucket']} days" if best else "not enough data",
            fmt.ratio(best["median_relative_price"]) if best else "—",
            f"{worst['days_bucket']} days",
            fmt.ratio(worst["median_relative_price"]),
        )
    return table


def _deals_table(data: ReportData, limit: int) -> Table:
    soon = [
        r
        for r in data.upcoming
        if r["verdict"] == "low"
        and r["departure_date"] <= r["latest_observed_date"] + timedelta(days=data.upcoming_days)
    ]
    soon.sort(
        key=lambda r: (r["price_percentile"] if r["price_percentile"] is not None else 1, r["departure_date"])
    )
    table = Table(
        title=f"Low prices now (next {data.upcoming_days} days; {len(soon)} found, "
        f"best {min(limit, len(soon))})",
        title_justify="left",
    )
    for name in ("route", "trip", "departure", "price", "percentile", "advice"):
        table.add_column(name, justify="right" if name in ("price", "percentile") else "left")
    for r in soon[:limit]:
        table.add_row(
            fmt.route(r["origin"], r["destination"]),
            fmt.TRIP_LABEL[r["trip_type"]],
            f"{r['departure_date']:%a %d %b}",
            fmt.price(r["latest_min_price"]),
            fmt.percent(r["price_percentile"]),
            r["recommendation"].replace("_", " "),
        )
    return table
