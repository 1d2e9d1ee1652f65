"""`tickettrak report`: the analytics report from the dbt marts (HTML, CSV, JSON, terminal)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tickettrak.common.cli import fail, settings_or_exit


class ReportFormat(StrEnum):
    html = "html"
    csv = "csv"
    json = "json"


DEFAULT_NAMES = {ReportFormat.html: "report.html", ReportFormat.csv: "csv", ReportFormat.json: "marts.json"}


def report(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write: the HTML file, the JSON file, or the directory of CSV files "
            "(default: $TICKETTRAK_HOME/reports/report.html, marts.json or csv/).",
        ),
    ] = None,
    format_: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="html: the report with charts; csv / json: the marts."),
    ] = ReportFormat.html,
    terminal: Annotated[
        bool, typer.Option("--terminal/--no-terminal", help="Also print a summary as tables in the terminal.")
    ] = True,
    route: Annotated[
        list[str] | None,
        typer.Option(
            "--route", "-r", help="Only this route, e.g. MOW-DXB (repeatable). Default: every route."
        ),
    ] = None,
    focus: Annotated[
        int, typer.Option(min=1, max=36, help="Routes with price-history charts when --route is not given.")
    ] = 4,
    upcoming_days: Annotated[
        int, typer.Option(min=1, max=400, help="Days ahead listed in the buy-or-wait table.")
    ] = 30,
) -> None:
    """Build the analytics report from the dbt marts in PostgreSQL.

    The HTML report is one self-contained file (charts as inline SVG, opens offline): average price
    by route, airline and stops; price history of chosen departure dates; the best time to buy per
    route; a price calendar; upcoming departures with a low / typical / high verdict and buy / wait
    advice. `--format csv|json` exports the marts instead. Reads PostgreSQL from
    TICKETTRAK_POSTGRES_DSN (or the embedded server); run `tickettrak transform` first.
    """
    from datetime import UTC, datetime

    import psycopg
    from rich.console import Console

    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.logs import configure_logging, get_logger
    from tickettrak.report.data import load_report_data, parse_route
    from tickettrak.report.marts import MartError, check_contract, connect

    settings = settings_or_exit()
    configure_logging(settings.log_format, settings.log_level, settings.secret_values())
    log = get_logger("tickettrak.report")
    try:
        routes = [parse_route(r) for r in route or []]
    except ValueError as error:
        raise fail(str(error), code=2) from None
    target = output or settings.home_dir / "reports" / DEFAULT_NAMES[format_]
    generated_at = datetime.now(UTC)
    console = Console(stderr=False)

    try:
        with open_postgres(settings) as dsn, connect(dsn) as conn:
            columns = check_contract(conn)
            counts: dict[str, int] = {}
            if format_ is ReportFormat.html or terminal:
                data = load_report_data(conn, columns, routes, focus_count=focus, upcoming_days=upcoming_days)
            if format_ is ReportFormat.html:
                _write_html(target, data, generated_at)
            elif format_ is ReportFormat.csv:
                from tickettrak.report.exports import export_csv

                counts = export_csv(conn, columns, target, routes)
            else:
                from tickettrak.report.exports import export_json

                counts = export_json(conn, columns, target, generated_at, routes)
    except MartError as error:
        raise fail(str(error)) from None
    except psycopg.OperationalError as error:
        raise fail(f"cannot reach PostgreSQL: {str(error).strip().splitlines()[0]}") from None

    if terminal:
        from tickettrak.report.terminal import print_summary

        print_summary(data, console)
    log.info("report written", path=str(target), format=format_.value, rows=counts or None)
    typer.echo(f"report: {target}")


def _write_html(target: Path, data: object, generated_at: object) -> None:
    import os

    from tickettrak.report.html import render_html

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(render_html(data, generated_at), encoding="utf-8")  # type: ignore[arg-type]
    os.replace(partial, target)  # never a half-written report
