"""PostgreSQL for the stages: the configured DSN, or the embedded server (pgserver, real PostgreSQL 16).

The embedded server keeps its data under `$TICKETTRAK_HOME/postgres`, so it persists across runs.
pgserver already handles running as root: it creates an unprivileged `pgserver` system user and
runs postgres as that user (PostgreSQL refuses to run as root). The server is shared by every
process that opens the same data directory and stops when the last of them closes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import warnings
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
    """Start (or attach to) the embedded server on `data_dir`; returns the pgserver handle.

    Release it with `stop_embedded()` (or the handle's `cleanup()`); the server stops when the
    last process using it lets go.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import pgserver
    except ImportError as error:  # images leave the embedded extra out on purpose
        raise EmbeddedPostgresError(
            "TICKETTRAK_POSTGRES_DSN is not set and the embedded PostgreSQL (pgserver) is not installed"
        ) from error
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        _forget_dead_users(data_dir)
        server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
        _create_database(str(server.get_uri("postgres")))
    except Exception as error:  # pgserver raises plain exceptions; name the log for the user
        raise EmbeddedPostgresError(
            f"embedded PostgreSQL failed to start in {data_dir} ({error}); see {data_dir / 'log'}"
        ) from error
    return server


def stop_embedded(server: Any) -> None:
    """Let go of the server: it stops if no other process uses it."""
    from pgserver.postgres_server import PostgresServer

    server.cleanup()
    # pgserver caches the handle per process even after this process let go; a later
    # start_embedded() in the same process must register it again, so forget the handle.
    PostgresServer._instances.pop(server.pgdata, None)


def _forget_dead_users(data_dir: Path) -> None:
    """Drop processes that died without letting go (SIGKILL, OOM) from pgserver's user list;
    otherwise the server would never stop, or a recycled pid would keep it alive."""
    from pgserver.postgres_server import PostgresServer

    users = data_dir / ".handle_pids.json"
    with PostgresServer._lock:
        if not users.exists():
            return
        try:
            pids = [int(p) for p in json.loads(users.read_text())]
        except (ValueError, TypeError):
            pids = []
        alive = [p for p in pids if _pid_alive(p)]
        if alive != pids:
            users.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _create_database(admin_uri: str) -> None:
    """One database for TicketTrak, created on first use (safe when two processes race)."""
    import psycopg
    from psycopg import errors

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (EMBEDDED_DATABASE,)).fetchone()
        if found is None:
            with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                conn.execute(f"create database {EMBEDDED_DATABASE}")


# Nested open_postgres() calls in one process share one handle: only the outermost lets go.
_open_counts: dict[Path, int] = {}
_open_lock = threading.Lock()


@contextmanager
def open_postgres(settings: Settings) -> Iterator[str]:
    """Yield a DSN: the configured one, or the embedded server's (started here, stopped after)."""
    if settings.postgres_dsn is not None:
        yield settings.postgres_dsn.get_secret_value()
        return
    data_dir = embedded_data_dir(settings).resolve()
    server = start_embedded(data_dir)
    with _open_lock:
        _open_counts[data_dir] = _open_counts.get(data_dir, 0) + 1
    try:
        yield str(server.get_uri(EMBEDDED_DATABASE))
    finally:
        with _open_lock:
            _open_counts[data_dir] -= 1
            last = _open_counts[data_dir] == 0
        if last:
            stop_embedded(server)
