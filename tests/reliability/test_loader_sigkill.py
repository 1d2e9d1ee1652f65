"""Loader SIGKILLed at random points, >= 50 trials: after a rerun, tickets, request_logs,
load_errors and the watermark equal a clean run's (count + md5 checksum of every column).

The trial itself is the loader's own crash test (tests/integration/loader/test_crash_recovery.py,
12 trials in `make test`); this runs it with RELIABILITY_LOADER_TRIALS (default 50) trials on the
embedded RAW store, on a smaller RAW set so that 50 trials fit the suite's budget on 2 busy cores
(800 documents in batches of 40: 20+ commit points to land a kill before, between and inside).
Replay a failure with TICKETTRAK_TEST_CRASH_SEED=<seed printed in the assertion>.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.loader import test_crash_recovery as loader_crash
from tests.integration.loader.conftest import RawStore

TRIALS = int(os.environ.get("RELIABILITY_LOADER_TRIALS", "50"))
DOCUMENTS = int(os.environ.get("RELIABILITY_LOADER_DOCUMENTS", "800"))


@pytest.fixture
def embedded_raw_store(tt_env: Path) -> Iterator[RawStore]:
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings

    database = open_raw_database(load_settings())
    yield RawStore("montydb", database, {"TICKETTRAK_HOME": str(tt_env)})
    database.client.close()


@pytest.mark.slow
def test_fifty_random_sigkills_then_rerun_equal_a_clean_run(
    embedded_raw_store: RawStore,
    new_postgres_database: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert TRIALS >= 50 or "RELIABILITY_LOADER_TRIALS" in os.environ, "the issue asks for >= 50 trials"
    monkeypatch.setenv("TICKETTRAK_TEST_CRASH_TRIALS", str(TRIALS))
    monkeypatch.setattr(loader_crash, "DOCUMENTS", DOCUMENTS)
    # Count the trials that really ran (the loader's test loops over new databases, one per trial).
    databases: list[str] = []

    def counting_database() -> str:
        dsn = new_postgres_database()
        databases.append(dsn)
        return dsn

    loader_crash.test_sigkill_then_rerun_equals_clean_run(embedded_raw_store, counting_database, tmp_path)
    # 1 clean in-process run + 1 timed CLI run + one database per trial
    assert len(databases) == TRIALS + 2, f"{len(databases) - 2} trials ran, expected {TRIALS}"
