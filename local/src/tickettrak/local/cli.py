"""`tickettrak run`: the laptop's one command (see pipeline.py for what it does)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from tickettrak.common.cli import fail, settings_or_exit


def run(
    days: Annotated[
        int, typer.Option(min=1, max=366, help="Observation days of history to build through the sandbox.")
    ] = 60,
    end_date: Annotated[
        str | None, typer.Option(help="Last observation day, YYYY-MM-DD (default: today). Sandbox only.")
    ] = None,
    routes: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Routes YAML for the collector.")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Where to write the HTML report.")] = None,
) -> None:
    """Run the whole pipeline on this machine: collect, load, transform, report.

    Without TICKETTRAK_AVIASALES_TOKEN it builds a history of --days observation days from the
    local Aviasales sandbox; with a token it collects today's real prices through the proxy.
    Embedded PostgreSQL and RAW store are used unless their settings are given. Stored data is
    reused: a second run only adds what is new.
    """
    from rich.console import Console

    from tickettrak.common.logs import configure_logging
    from tickettrak.local.pipeline import RunOptions, StageError, run_pipeline
    from tickettrak.local.processes import ServiceFailed

    settings = settings_or_exit()
    configure_logging(settings.log_format, settings.log_level, settings.secret_values())
    console = Console(stderr=True)
    try:
        parsed_end = date.fromisoformat(end_date) if end_date else None
    except ValueError:
        raise fail(f"--end-date must be YYYY-MM-DD, got {end_date!r}", code=2) from None
    if parsed_end and not settings.uses_sandbox:
        raise fail("--end-date needs the sandbox: the real Aviasales API only shows today's prices", code=2)
    if settings.uses_sandbox:
        console.print(f"[bold]No TICKETTRAK_AVIASALES_TOKEN: {days} observation day(s) from the sandbox.")
    else:
        console.print("[bold]TICKETTRAK_AVIASALES_TOKEN is set: collecting today's real Aviasales prices.")

    options = RunOptions(days=days, end_date=parsed_end, routes=routes, report_path=report)
    try:
        result = run_pipeline(settings, options, console)
    except (StageError, ServiceFailed) as error:
        raise fail(str(error)) from None

    total = sum(result.durations.values())
    timings = ", ".join(f"{k} {v:.0f}s" for k, v in result.durations.items())
    console.print(f"[green]Done in {total:.0f}s[/] ({timings}). Logs: {result.log_dir}")
    typer.echo(f"Report: {result.report_path}")
