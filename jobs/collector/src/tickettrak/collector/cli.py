"""`tickettrak collect`: build the request plan for a logical date and send it through the proxy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer


def _today_utc() -> date:
    return datetime.now(UTC).date()


def collect(
    logical_date: Annotated[
        str | None,
        typer.Option(
            "--logical-date",
            help="The observation day (YYYY-MM-DD) the run collects for; default today (UTC). "
            "The real API only accepts today; the sandbox replays any day.",
            show_default=False,
        ),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option(help="Names this run in RAW (X-TicketTrak-Run-Id); default collect__DATE__UTCTIME."),
    ] = None,
    routes: Annotated[
        Path | None,
        typer.Option(
            "--routes",
            dir_okay=False,
            help="Routes YAML (routes, horizon, trips, endpoints, limits); default: the shipped routes.yaml.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan's counts by endpoint and route; send nothing.")
    ] = False,
    max_failure_share: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Exit non-zero when more than this share of the planned requests failed."
        ),
    ] = 0.05,
    rate_limit_scale: Annotated[
        float,
        typer.Option(
            min=0.001,
            envvar="TICKETTRAK_COLLECT_RATE_LIMIT_SCALE",
            help="Multiply the per-minute limits (only for a sandbox and proxy sped up by the same factor).",
        ),
    ] = 1.0,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar; default: on when stderr is a terminal."),
    ] = None,
) -> None:
    """Collect prices for one logical date: plan the requests, skip those RAW already has, send the
    rest through the proxy at the endpoints' rate limits, and print a summary.

    Reruns for the same logical date send only what has not succeeded yet (resume).
    """
    import asyncio
    import logging
    import sys

    from tickettrak.collector.config import RoutesConfigError, load_routes_config
    from tickettrak.collector.plan import build_plan
    from tickettrak.collector.report import print_plan, print_summary
    from tickettrak.collector.resume import ResumeError
    from tickettrak.collector.runner import RunOptions, run_collection
    from tickettrak.common.cli import fail, settings_or_exit
    from tickettrak.common.logs import configure_logging, get_logger
    from tickettrak.common.settings import REAL_API_BASE_URL

    settings = settings_or_exit()
    configure_logging(settings.log_format, settings.log_level, settings.secret_values())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is the proxy's job
    log = get_logger("tickettrak.collector")

    today = _today_utc()
    try:
        day = date.fromisoformat(logical_date) if logical_date else today
    except ValueError:
        raise fail(f"--logical-date: expected YYYY-MM-DD, got {logical_date!r}", code=2) from None
    if settings.uses_real_api and day != today:
        raise fail(
            f"--logical-date {day.isoformat()} is not today ({today.isoformat()} UTC): the real Aviasales "
            f"API ({REAL_API_BASE_URL}) only shows prices as they are now and cannot replay another day. "
            "Collect today, or use the sandbox (unset TICKETTRAK_AVIASALES_TOKEN) to build a history.",
            code=2,
        )
    try:
        config = load_routes_config(routes)
    except RoutesConfigError as error:
        raise fail(str(error), code=2) from None

    plan = build_plan(config, day)
    if dry_run:
        print_plan(plan, day)
        return
    if not plan:
        raise fail("the routes config plans no request for this date (check horizon, trips, queries)", code=2)

    from tickettrak.common.query_params import RUN_ID  # the proxy's rule for the run id header

    if run_id is not None and not RUN_ID.fullmatch(run_id):
        raise fail(
            f"--run-id: use 1-128 ASCII letters, digits or _.:+@/- (the proxy's rule), got {run_id!r}", code=2
        )
    run = run_id or f"collect__{day.isoformat()}__{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    terminal = sys.stderr.isatty() if progress is None else progress
    options = RunOptions(settings.proxy_url, day, run, rate_limit_scale, terminal)
    log.info(
        "collect.start",
        logical_date=day.isoformat(),
        run_id=run,
        planned=len(plan),
        proxy_url=settings.proxy_url,
        rate_limit_scale=rate_limit_scale,
    )
    try:
        summary = asyncio.run(run_collection(config, plan, options))
    except ResumeError as error:
        raise fail(str(error)) from None
    except KeyboardInterrupt:
        raise fail(
            f"collect {day.isoformat()} interrupted; run the same command again to finish it "
            "(what already succeeded is in RAW and is not asked again)",
            code=130,
        ) from None
    print_summary(summary, day, run)
    if not terminal:  # on a terminal the printed summary says it; pods and CI get one JSON line too
        log.info("collect.summary", logical_date=day.isoformat(), run_id=run, **summary.as_dict())
    if summary.failure_share > max_failure_share:
        reasons = ", ".join(f"{r} {n}" for r, n in summary.failed_by_reason.most_common(3))
        raise fail(
            f"collect {day.isoformat()}: {summary.failed} of {summary.planned} planned requests failed "
            f"({summary.failure_share:.1%} > --max-failure-share {max_failure_share:.1%}; {reasons})"
        )
