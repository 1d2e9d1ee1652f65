"""Rows removed from the loader's tables since the last full build: a reason to rebuild in full.

dbt's incremental models pick their work by the `loaded_at` of the rows that are there; a row that
was deleted (or a table truncated by `tickettrak load --full-refresh`) leaves nothing to pick, so
an incremental run would keep it in the fact, the dimensions and the marts. The loader's
migration 0002 makes PostgreSQL log every removal in `aviasales.removed_rows_log`; `tickettrak
transform` turns a pending entry into a `--full-refresh` build and, once that build succeeded,
stamps the entries it covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

LOG_TABLE = "aviasales.removed_rows_log"  # created by the loader's migration 0002


@dataclass(frozen=True)
class PendingRemovals:
    ids: tuple[int, ...]  # the entries a full build started now covers
    since: datetime
    what: str  # e.g. "TRUNCATE tickets; DELETE 12 rows of tickets"

    def describe(self) -> str:
        return f"{self.what} (since {self.since:%Y-%m-%d %H:%M:%S %Z})"


def pending_removals(dsn: str) -> PendingRemovals | None:
    """The removals no full build has covered yet, or None (also before migration 0002)."""
    with psycopg.connect(dsn, connect_timeout=30) as conn:
        if conn.execute("select to_regclass(%s)", (LOG_TABLE,)).fetchone() == (None,):
            return None
        row = conn.execute(
            """select array_agg(id order by id), min(at),
                       string_agg(case when rows_removed is null then operation || ' ' || table_name
                                       else operation || ' ' || rows_removed || ' rows of ' || table_name
                                  end, '; ' order by id)
                from aviasales.removed_rows_log where rebuilt_at is null"""
        ).fetchone()
    if row is None or row[0] is None:
        return None
    ids, what = tuple(int(i) for i in row[0]), str(row[2])
    if len(ids) > 5:  # a long history of manual deletes: the count says enough
        what = f"{len(ids)} removals, the last: {what.rsplit('; ', 1)[-1]}"
    return PendingRemovals(ids=ids, since=row[1], what=what)


def mark_rebuilt(dsn: str, pending: PendingRemovals) -> None:
    """After a successful full build: the entries it saw before it started need no further
    rebuild. Only those ids: a removal committed while it ran stays pending for the next run."""
    with psycopg.connect(dsn, connect_timeout=30, autocommit=True) as conn:
        conn.execute(
            "update aviasales.removed_rows_log set rebuilt_at = now() "
            "where id = any(%s) and rebuilt_at is null",
            (list(pending.ids),),
        )
