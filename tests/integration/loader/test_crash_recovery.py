"""SIGKILL `tickettrak load` at random points, rerun: exactly the rows of a clean run.

Trials: TICKETTRAK_TEST_CRASH_TRIALS (default 12 on the embedded store, 3 over FerretDB,
to stay inside the suite's time budget; the reliability suite runs it with >= 50).
Seed: TICKETTRAK_TEST_CRASH_SEED (printed on failure) to replay a failing sequence.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import generated_documents, insert_documents, raw_document
from tickettrak.loader.loader import run_load

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCUMENTS = 2000
OFFERS_PER_DOCUMENT = 3
BATCH_SIZE = 40  # many commit points to land a kill between, before and inside
TICKETTRAK = str(Path(sys.executable).parent / "tickettrak")

FINGERPRINT_SQL = {
    "request_logs": """SELECT count(*), md5(string_agg(concat_ws('|', raw_id, raw_seq, success, http_status,
                           offers_count, error, md5(raw::text)), ',' ORDER BY raw_id))
                       FROM aviasales.request_logs""",
    "tickets": """SELECT count(*), md5(string_agg(concat_ws('|', observed_date, offer_id, raw_id, raw_seq,
                      price, currency, departure_at, return_at, flight_number, link, search_date),
                      ',' ORDER BY observed_date, offer_id))
                  FROM aviasales.tickets""",
    "load_errors": """SELECT count(*), md5(string_agg(concat_ws('|', raw_id, item_path, reason, detail),
                          ',' ORDER BY raw_id, item_path, reason))
                      FROM aviasales.load_errors""",
    "watermark": "SELECT watermark_seq, NULL FROM aviasales.load_state",
}


def fingerprint(dsn: str) -> dict[str, Any]:
    with psycopg.connect(dsn) as conn:
        return {name: conn.execute(sql).fetchone() for name, sql in FINGERPRINT_SQL.items()}  # type: ignore[arg-type]


def watermark_of(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        try:
            row = conn.execute("SELECT watermark_seq FROM aviasales.load_state").fetchone()
        except psycopg.errors.UndefinedTable:
            return -1  # killed before the first migration committed
        return int(row[0]) if row else 0


def worker_pids(parent: int) -> list[int]:
    """The live load workers whose parent is `parent` (read from /proc: no extra dependency)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(ppid) == parent and state not in ("Z", "X") and b"tickettrak.loader.pipeline" in cmdline:
            found.append(int(stat.parent.name))
    return found


def _assert_gone(pids: list[int], seed: int) -> None:
    """A killed loader's worker notices (its pipe closes) and exits on its own."""
    give_up = time.monotonic() + 15
    while (alive := [p for p in pids if _alive(p)]) and time.monotonic() < give_up:
        time.sleep(0.05)
    assert not alive, f"load workers {alive} outlived their killed loader (seed {seed})"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _wait_for_progress(dsn: str, target: int, process: subprocess.Popen[bytes], deadline: float) -> int:
    give_up = time.monotonic() + deadline
    seen = -1
    while process.poll() is None and time.monotonic() < give_up and (seen := watermark_of(dsn)) < target:
        time.sleep(0.01)
    return seen


def _documents() -> list[dict[str, Any]]:
    docs = list(generated_documents(DOCUMENTS, OFFERS_PER_DOCUMENT))
    # salt: bad documents must be quarantined exactly once whatever happens
    seq = DOCUMENTS
    for i in range(0, DOCUMENTS, 400):
        seq += 1
        docs.append(raw_document(None, seq=seq, status=502, body_text=f"<html>502 #{i}</html>"))
        seq += 1
        bad = docs[i]["response"]["body"]
        docs.append(raw_document({**bad, "data": [{**bad["data"][0], "price": -1}]}, seq=seq))
    return docs


def test_sigkill_then_rerun_equals_clean_run(
    raw_store: Any, new_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    default_trials = 12 if raw_store.kind == "montydb" else 3
    trials = int(os.environ.get("TICKETTRAK_TEST_CRASH_TRIALS", default_trials))
    seed = int(os.environ.get("TICKETTRAK_TEST_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    docs = _documents()
    insert_documents(raw_store.collection, docs)
    max_seq = max(d["seq"] for d in docs)

    clean_dsn = new_postgres_database()
    run_load(clean_dsn, raw_store.database, batch_size=BATCH_SIZE)
    clean = fingerprint(clean_dsn)
    assert clean["tickets"][0] == DOCUMENTS * OFFERS_PER_DOCUMENT
    assert clean["watermark"][0] == max_seq

    env = {**os.environ, **raw_store.env, "TICKETTRAK_LOG_LEVEL": "WARNING"}

    log = tmp_path / "loader-stderr.log"

    def start(dsn: str) -> subprocess.Popen[bytes]:
        with log.open("ab") as stderr:
            stderr.write(b"--- start\n")
            return subprocess.Popen(
                [TICKETTRAK, "load", "--batch-size", str(BATCH_SIZE), "--log-format", "json"],
                env={**env, "TICKETTRAK_POSTGRES_DSN": dsn},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    # How long a whole CLI run takes here: kills land uniformly inside that window.
    began = time.monotonic()
    timing_dsn = new_postgres_database()
    assert start(timing_dsn).wait(timeout=300) == 0
    window = time.monotonic() - began
    assert fingerprint(timing_dsn) == clean  # the CLI process reads the same RAW as this test

    partial_states = []
    workers_killed_with = 0  # load workers alive when their loader was killed
    for trial in range(trials):
        dsn = new_postgres_database()
        for kill in range(rng.choice((1, 1, 2))):  # sometimes crash the rerun too
            process = start(dsn)
            # The first kill of the first trial always lands mid-load (a few trials may otherwise
            # all land before the first commit or after the last one).
            mid_load = trial == 0 and kill == 0
            if not mid_load and rng.random() < 0.5:  # anywhere in time: startup, a batch, the end
                time.sleep(rng.uniform(0.0, window))
            else:  # after a random number of committed documents (a loaded machine skews timing)
                target = rng.randint(max_seq // 4, max_seq // 2) if mid_load else rng.randint(1, max_seq - 1)
                reached = _wait_for_progress(dsn, target, process, deadline=window * 10)
                with log.open("a") as note:
                    note.write(f"--- progress target {target}: {reached}, exit {process.poll()}\n")
                time.sleep(rng.uniform(0.0, 0.05))
            workers = worker_pids(process.pid)
            workers_killed_with += len(workers)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            _assert_gone(workers, seed)
        partial_states.append(watermark_of(dsn))
        run_load(dsn, raw_store.database, batch_size=BATCH_SIZE)  # the rerun after the crash
        assert fingerprint(dsn) == clean, f"trial {trial} differs from a clean run (seed {seed})"

    assert workers_killed_with > 0, f"no kill landed while a load worker ran (seed {seed})"
    # The kills really landed at different points, at least one in the middle of loading.
    assert any(0 < w < max_seq for w in partial_states), (
        f"no kill landed mid-load: {partial_states} (seed {seed})"
    )
