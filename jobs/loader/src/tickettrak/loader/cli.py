"""`tickettrak load`: RAW (MongoDB or montydb) -> PostgreSQL aviasales.* (light: imports inside)."""

from __future__ import annotations

from typing import Annotated

import typer

from tickettrak.common.cli import fail, settings_or_exit

LOG_FORMATS = ("auto", "console", "json")
# The loaded ids of the overlap window are held in memory (both processes): keep the window bounded.
MAX_OVERLAP = 100_000


def load(
    full_refresh: Annotated[
        bool,
        typer.Option("--full-refresh", help="Empty the aviasales tables and reload everything from RAW."),
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="RAW documents per transaction.")
    ] = 500,
    overlap: Annotated[
        int,
        typer.Option(
            "--overlap",
            min=0,
            max=MAX_OVERLAP,
            help="Seqs below the watermark re-checked for late documents (reload all: --full-refresh).",
        ),
    ] = 1000,
    wait_for_lock: Annotated[
        bool, typer.Option("--wait-for-lock", help="Wait for a running loader instead of exiting.")
    ] = False,
    log_format: Annotated[
        str | None,
        typer.Option("--log-format", help="auto, console or json (default: TICKETTRAK_LOG_FORMAT, auto)."),
    ] = None,
) -> None:
    """Load new RAW documents into aviasales.request_logs and aviasales.tickets (exactly once)."""
    import sys

    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.logs import configure_logging, get_logger
    from tickettrak.loader.loader import LoaderBusy, run_load
    from tickettrak.loader.report import Feedback, print_summary
    from tickettrak.loader.schema import MigrationError

    settings = settings_or_exit()
    log_format = settings.log_format if log_format is None else log_format
    if log_format not in LOG_FORMATS:
        raise fail(f"--log-format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}", code=2)
    configure_logging(log_format, settings.log_level, settings.secret_values())
    log = get_logger("tickettrak.loader")
    interactive = sys.stderr.isatty() and log_format != "json"
    try:
        raw = open_raw_database(settings)
        with open_postgres(settings) as dsn, Feedback(interactive, log) as feedback:
            summary = run_load(
                dsn,
                raw,
                full_refresh=full_refresh,
                batch_size=batch_size,
                overlap=overlap,
                wait_for_lock=wait_for_lock,
                on_start=feedback.start,
                on_batch=feedback.advance,
            )
    except LoaderBusy as error:
        raise fail(str(error), code=3) from None
    except MigrationError as error:
        raise fail(f"schema migration failed: {error}", code=2) from None
    except Exception as error:  # storage down, bad DSN ...: one clear line, no traceback soup
        log.exception("load failed")
        raise fail(f"load failed: {type(error).__name__}: {one_line(error)}") from None
    log.info("load finished", **summary.as_dict())
    print_summary(summary, interactive)


def one_line(error: BaseException) -> str:
    """The error's reason on one line: psycopg appends `CONTEXT: COPY …, line N` after it, which
    would otherwise be the last line of the output (where the reason must be)."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    text = primary if isinstance(primary, str) and primary else str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("CONTEXT:")]
    return " / ".join(lines) or type(error).__name__
