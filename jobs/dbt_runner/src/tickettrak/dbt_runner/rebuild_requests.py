"""Changes upstream that the incremental models may not see: a reason to rebuild in full.

dbt's incremental models pick their work by the `loaded_at` of the rows that are there, which
only the loader sets reliably. A row deleted (or a table truncated by `tickettrak load
--full-refresh`), or inserted or updated by anyone but the loader (a fix by hand that moves a row
to another month, keeps an old loaded_at, sets a price of 0), leaves nothing for them to pick, and
an incremental run would keep the old version in the fact, the dimensions and the marts. The
loader's migration 0002 makes PostgreSQL log each such change in
`aviasales.full_rebuild_requests`; `tickettrak transform` turns pending requests into a
`--full-refresh` build and, once that build succeeded, stamps the requests it covered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

REQUESTS_TABLE = "aviasales.full_rebuild_requests"  # created by the loader's migration 0002


@dataclass(frozen=True)
class PendingRequests:
    ids: tuple[int, ...]  # the requests a full build started now covers
    since: datetime
    what: str  # e.g. "TRUNCATE tickets; DELETE 12 rows of tickets"

    def describe(self) -> str:
        return f"{self.what}, since {self.since:%Y-%m-%d %H:%M:%S %Z}"


def pending_requests(dsn: str) -> PendingRequests | None:
    """The requests no full build has covered yet, or None (also before migration 0002)."""
    with psycopg.connect(dsn, connect_timeout=30) as conn:
        if conn.execute("select to_regclass(%s)", (REQUESTS_TABLE,)).fetchone() == (None,):
            return None
        row = conn.execute(
            """select array_agg(id order by id), min(requested_at),
                      string_agg(case when rows_affected is null then operation || ' ' || table_name
                                      else operation || ' ' || rows_affected || ' rows of ' || table_name
                                 end, '; ' order by id)
               from aviasales.full_rebuild_requests where rebuilt_at is null"""
        ).fetchone()
    if row is None or row[0] is None:
        return None
    ids, what = tuple(int(i) for i in row[0]), str(row[2])
    if len(ids) > 5:  # a long series of edits by hand: the count says enough
        what = f"{len(ids)} changes, the last: {what.rsplit('; ', 1)[-1]}"
    return PendingRequests(ids=ids, since=row[1], what=what)


def mark_rebuilt(dsn: str, pending: PendingRequests) -> None:
    """After a successful full build: the requests it saw before it started are done. Only those
    ids: a change committed while it ran stays pending for the next run."""
    with psycopg.connect(dsn, connect_timeout=30, autocommit=True) as conn:
        conn.execute(
            "update aviasales.full_rebuild_requests set rebuilt_at = now() "
            "where id = any(%s) and rebuilt_at is null",
            (list(pending.ids),),
        )
