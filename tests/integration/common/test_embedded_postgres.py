"""Embedded PostgreSQL (pgserver, real PostgreSQL 16): starts on demand, stops after the last
user, and keeps its data under TICKETTRAK_HOME across processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tickettrak.common.embedded.postgres import EMBEDDED_DATABASE, embedded_data_dir, open_postgres
from tickettrak.common.settings import load_settings

pytestmark = pytest.mark.integration

# What one process of the pipeline does: open the embedded database, use it, let go.
STEP = textwrap.dedent(
    """
    import sys, psycopg
    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.settings import load_settings
    with open_postgres(load_settings()) as dsn, psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table if not exists visits (n int primary key, who text)")
        conn.execute("insert into visits values (%s, %s)", (int(sys.argv[1]), sys.argv[2]))
        rows = conn.execute("select n, who from visits order by n").fetchall()
        print(rows, conn.execute("select version()").fetchone()[0].split(" on ")[0])
    """
)


@pytest.fixture
def pg_home(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TICKETTRAK_HOME outside pytest's temp root.

    As root, pgserver runs postgres as the `pgserver` user, which must traverse every parent of
    the data directory; any pytest session that starts on this machine resets
    /tmp/pytest-of-<user> to mode 0700, which would lock postgres out of a tmp_path mid-test.
    """
    home = Path(tempfile.mkdtemp(prefix="tt-embedded-pg-"))
    home.chmod(0o755)
    monkeypatch.setenv("TICKETTRAK_HOME", str(home))
    try:
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _postmaster_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _step(n: int, who: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", STEP, str(n), who], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_starts_stops_and_persists_across_processes(pg_home: Path) -> None:
    data_dir = embedded_data_dir(load_settings())
    assert data_dir == pg_home.resolve() / "postgres"

    first = _step(1, "first process")
    assert first.startswith("[(1, 'first process')] PostgreSQL 16.")
    assert (data_dir / "PG_VERSION").read_text().strip() == "16"
    assert not _postmaster_running(data_dir), "the last user left: the server must stop"

    # A user that died without letting go must not keep the server alive forever.
    users = data_dir / ".handle_pids.json"
    users.write_text(json.dumps([*json.loads(users.read_text()), _dead_pid()]))

    second = _step(2, "second process")
    assert second.startswith("[(1, 'first process'), (2, 'second process')]")
    assert not _postmaster_running(data_dir)

    # And this process sees both rows too, through the same data directory.
    with open_postgres(load_settings()) as dsn:
        assert _postmaster_running(data_dir)
        assert dsn.startswith("postgresql://") and dsn.split("?")[0].endswith(f"/{EMBEDDED_DATABASE}")
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select count(*) from visits").fetchone() == (2,)
    assert not _postmaster_running(data_dir)


def test_nested_opens_share_one_server(pg_home: Path) -> None:
    data_dir = embedded_data_dir(load_settings())
    with open_postgres(load_settings()) as outer:
        with open_postgres(load_settings()) as inner:
            assert inner == outer
        # The inner block let go, but the outer one still uses the server.
        assert _postmaster_running(data_dir)
        with psycopg.connect(outer) as conn:
            assert conn.execute("select current_database()").fetchone() == (EMBEDDED_DATABASE,)
    assert not _postmaster_running(data_dir)
    with open_postgres(load_settings()) as again, psycopg.connect(again) as conn:  # same process, reopened
        assert conn.execute("select 1").fetchone() == (1,)
    assert not _postmaster_running(data_dir)


def test_configured_dsn_starts_nothing(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETTRAK_POSTGRES_DSN", "postgresql://u:p@db.example:5432/dwh")
    settings = load_settings()
    with open_postgres(settings) as dsn:
        assert dsn == "postgresql://u:p@db.example:5432/dwh"
    assert not embedded_data_dir(settings).exists()
