"""`tickettrak load` as the pods run it: summary at the end, clear exit when another loader runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import insert_documents, raw_document, recorded_documents
from tickettrak.loader.loader import LOADER_LOCK

pytestmark = pytest.mark.integration
TICKETTRAK = str(Path(sys.executable).parent / "tickettrak")


def _load(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TICKETTRAK, "load", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_cli_loads_and_prints_a_summary(tt_env: Path, postgres_dsn: str, fixtures_dir: Path) -> None:
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings

    docs = [d for _, d in recorded_documents(fixtures_dir)]
    docs.append(raw_document(None, seq=len(docs) + 1, status=502, body_text="<html>502</html>"))
    insert_documents(open_raw_database(load_settings())["raw_exchanges"], docs)
    env: dict[str, Any] = {**os.environ, "TICKETTRAK_POSTGRES_DSN": postgres_dsn}

    done = _load(env, "--batch-size", "2")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "documents read:      6" in out
    assert "request_logs rows:   6" in out
    assert "tickets inserted:    90" in out
    assert "quarantined:         1 (non_json_body=1)" in out
    assert '"event": "load finished"' in done.stderr  # structured logs when not on a terminal
    assert postgres_dsn not in done.stderr + out  # the DSN (a secret) is never printed

    with psycopg.connect(postgres_dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOADER_LOCK,))
        busy = _load(env)
    assert busy.returncode == 3
    assert busy.stderr.strip().splitlines()[-1].startswith("error: another `tickettrak load` is running")

    again = _load(env, "--full-refresh")
    assert again.returncode == 0, again.stderr
    assert "tickets inserted:    90" in again.stdout
