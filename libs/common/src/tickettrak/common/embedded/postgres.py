"""PostgreSQL for the stages: the configured DSN, or the embedded server (pgserver, real PostgreSQL 16).

The embedded server keeps its data under `$TICKETTRAK_HOME/postgres`, so it persists across runs.
pgserver already handles running as root: it creates an unprivileged `pgserver` system user and
runs postgres as that user (PostgreSQL refuses to run as root). The server is shared by every
process that opens the same data directory and stops when the last of them closes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tickettrak.common.settings import Settings

EMBEDDED_DATABASE = "tickettrak"


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL could not start; the message says why and where its log is."""


def embedded_data_dir(settings: Settings) -> Path:
    return settings.home_dir / "postgres"


def start_embedded(data_dir: Path) -> Any:
    """Start (or attach to) the embedded server on `data_dir`; returns the pgserver handle."""
    try:
        import pgserver
    except ImportError as error:  # images leave the embedded extra out on purpose
        raise EmbeddedPostgresError(
            "TICKETTRAK_POSTGRES_DSN is not set and the embedded PostgreSQL (pgserver) is not installed"
        ) from error
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    except Exception as error:  # pgserver raises plain exceptions; name the log for the user
        raise EmbeddedPostgresError(
            f"embedded PostgreSQL failed to start in {data_dir} ({error}); see {data_dir / 'log'}"
        ) from error
    # One database for TicketTrak, created on first use.
    exists = server.psql(f"select 1 from pg_database where datname = '{EMBEDDED_DATABASE}';")  # noqa: S608 (a constant)
    if "(1 row)" not in exists:
        server.psql(f"create database {EMBEDDED_DATABASE};")
    return server


@contextmanager
def open_postgres(settings: Settings) -> Iterator[str]:
    """Yield a DSN: the configured one, or the embedded server's (started here, stopped after)."""
    if settings.postgres_dsn is not None:
        yield settings.postgres_dsn.get_secret_value()
        return
    server = start_embedded(embedded_data_dir(settings))
    try:
        yield str(server.get_uri(EMBEDDED_DATABASE))
    finally:
        server.cleanup()
