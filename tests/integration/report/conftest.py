"""Report fixtures: an embedded PostgreSQL holding hand-made marts, and a headless Chromium."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.report.mart_rows import DDL, create_and_fill


@pytest.fixture(scope="module")
def report_server() -> Iterator[Any]:
    """A PostgreSQL server for this module, in a directory outside pytest's temp root.

    As root, pgserver runs postgres as the `pgserver` user, which must traverse the data
    directory's parents; any pytest session starting on the machine resets /tmp/pytest-of-<user>
    to mode 0700, so a server under tmp_path could fail to start mid-run on a shared machine.
    """
    from tickettrak.common.embedded.postgres import start_embedded, stop_embedded

    home = Path(tempfile.mkdtemp(prefix="tt-report-pg-"))
    home.chmod(0o755)
    server = start_embedded(home / "postgres")
    try:
        yield server
    finally:
        stop_embedded(server)
        shutil.rmtree(home, ignore_errors=True)


def _new_database(server: Any, name: str) -> str:
    with psycopg.connect(str(server.get_uri("postgres")), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}" template template0')
    return str(server.get_uri(name))


@pytest.fixture(scope="module")
def marts_dsn(report_server: Any) -> str:
    """A database whose dwh.* marts hold the rows of mart_rows.build_rows()."""
    dsn = _new_database(report_server, "report_marts")
    create_and_fill(dsn)
    return dsn


@pytest.fixture
def empty_dsn(report_server: Any) -> str:
    """A database without any mart (transform never ran)."""
    return _new_database(report_server, "report_empty")


@pytest.fixture
def empty_marts_dsn(report_server: Any) -> str:
    """The marts exist but hold no row yet (dbt ran before any collection)."""
    dsn = _new_database(report_server, "report_empty_marts")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(DDL)
    return dsn


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (`make chromium` installs it; CI runs it through `make ci-tools`), any
    Chromium or Chrome on PATH, or the one TICKETTRAK_TEST_CHROMIUM names."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    path = os.environ.get("TICKETTRAK_TEST_CHROMIUM") or next(filter(None, map(shutil.which, names)), None)
    assert path, "headless Chromium or Chrome is needed for the report test: run `make chromium`"
    return path
