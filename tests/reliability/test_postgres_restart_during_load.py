"""PostgreSQL restarted (pg_ctl restart -m fast: every session cut) in the middle of a load:
the load fails cleanly (non-zero exit, one clear reason line, no traceback), the rerun completes,
and the tables equal a clean run's (count + checksum): no duplicates, nothing lost."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import generated_documents, insert_documents
from tests.integration.loader.test_crash_recovery import fingerprint, watermark_of

pytestmark = [pytest.mark.slow]

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
DOCUMENTS, OFFERS, BATCH = 3000, 10, 50


@pytest.fixture
def private_postgres() -> Iterator[Any]:
    """A PostgreSQL server of this test alone (the session's is shared and must not restart)."""
    from tickettrak.common.embedded.postgres import start_embedded, stop_embedded

    root = Path(tempfile.mkdtemp(prefix="tt-rel-pg-"))
    server = start_embedded(root / "data")
    try:
        yield server
    finally:
        stop_embedded(server)
        shutil.rmtree(root, ignore_errors=True)


def _restart(server: Any) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=server.pgdata, user=server.system_user, timeout=60)


def _new_database(server: Any, name: str) -> str:
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    return str(server.get_uri(name))


def _load(env: dict[str, str], dsn: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [TICKETTRAK, "load", "--batch-size", str(BATCH), "--log-format", "json"],
        env={**env, "TICKETTRAK_POSTGRES_DSN": dsn},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_postgres_restart_mid_load_fails_cleanly_and_rerun_completes(
    private_postgres: Any, tt_env: Path
) -> None:
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings

    database = open_raw_database(load_settings())
    insert_documents(database["raw_exchanges"], generated_documents(DOCUMENTS, OFFERS))
    database.client.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    env.update(TICKETTRAK_HOME=str(tt_env), TICKETTRAK_LOG_LEVEL="INFO")

    clean_dsn = _new_database(private_postgres, "clean")
    done = _load(env, clean_dsn)
    _out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err[-2000:]
    clean = fingerprint(clean_dsn)
    assert clean["tickets"][0] == DOCUMENTS * OFFERS

    dsn = _new_database(private_postgres, "restarted")
    loading = _load(env, dsn)
    deadline = time.monotonic() + 120
    while watermark_of(dsn) < BATCH and loading.poll() is None:  # a batch or more committed
        assert time.monotonic() < deadline, "the load never committed a batch"
        time.sleep(0.05)
    assert loading.poll() is None, "the load finished before the restart: make the RAW set bigger"
    _restart(private_postgres)
    try:
        _out, err = loading.communicate(timeout=120)
    finally:
        if loading.poll() is None:  # hung: do not leave it running after the test
            loading.kill()
            loading.wait(timeout=30)
    partial = watermark_of(dsn)

    assert loading.returncode != 0, "the load must not report success after losing its server"
    # clean: not an uncaught exception (a traceback inside a JSON log record is the log's business)
    assert not any(line.startswith("Traceback") for line in err.splitlines()), err[-3000:]
    reasons = [line for line in err.splitlines() if line.startswith("error: ")]
    assert reasons, err[-2000:]
    assert any(w in reasons[-1].lower() for w in ("shutdown", "connection", "postgres")), reasons[-1]
    assert 0 < partial < DOCUMENTS, partial  # it really stopped in the middle

    rerun = _load(env, dsn)
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    assert fingerprint(dsn) == clean  # no duplicate, nothing lost, same quarantine
    with psycopg.connect(dsn) as conn:
        dupes = conn.execute(
            "SELECT count(*) - count(DISTINCT (observed_date, offer_id)) FROM aviasales.tickets"
        ).fetchone()
    assert dupes == (0,)
